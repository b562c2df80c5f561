"""Deciding approval steps from outside a run (``rensei approve``, the sandbox's auto-approver)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.messages import DecideInput, DecideResult, Decision
from settings import Settings
from workflows.approval_step import already_decided
from workflows.interpreter import InterpreterWorkflow

QUERY_TIMEOUT = timedelta(seconds=10)


class ApprovalError(RuntimeError):
    """The run refused the decision, or could not be reached."""


async def decide(
    settings: Settings,
    workflow_id: str,
    step_id: str,
    *,
    decision: Decision,
    by: str,
    reason: str | None = None,
) -> DecideResult:
    """Connects to ``settings.address`` and sends the ``decide`` update (source ``cli``)."""
    import worker

    try:
        client = await worker.connect(settings)
    except (RuntimeError, RPCError) as exc:
        raise ApprovalError(f"cannot reach Temporal at {settings.address} ({exc})") from None
    params = DecideInput(step_id=step_id, decision=decision, by=by, reason=reason, source="cli")
    return await send(client, workflow_id, params)


async def send(
    client: Client,
    workflow_id: str,
    params: DecideInput,
    *,
    run_id: str | None = None,
    update_id: str | None = None,
) -> DecideResult:
    """Sends ``decide`` and waits for the run's answer; refusals become ``ApprovalError``."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        result: DecideResult = await handle.execute_update(
            InterpreterWorkflow.decide, params, id=update_id
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise ApprovalError(
            cause.message if isinstance(cause, ApplicationError) else str(exc)
        ) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ApprovalError(await _after_the_run(handle, params.step_id)) from None
        raise ApprovalError(f"Temporal refused the decision: {exc}") from None
    return result


async def _after_the_run(handle: WorkflowHandle[Any, Any], step_id: str) -> str:
    """Why a run took no decision: it has ended (and maybe decided already), or never was."""
    try:
        await handle.describe()
    except RPCError:
        return f"no running workflow '{handle.id}'"
    try:
        items = await handle.query(InterpreterWorkflow.approvals, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError):
        items = []
    item = next((i for i in items if i.step_id == step_id), None)
    if item is not None and item.status in ("approved", "rejected"):
        return already_decided(item)
    return f"run '{handle.id}' has ended; it no longer takes decisions"
