"""``rensei run``: one definition, one event, on the stack or in a throw-away sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

import temporal_client
from contracts.messages import DecideInput, DecisionSource
from contracts.runs import InterpretInput, RunResult
from interpreter.plan import Plan
from settings import Settings
from stack import approvals

log = logging.getLogger(__name__)

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
DRIVER_POLL_SECONDS = 0.2
WAIT_NODE = "incident_io.incident.wait_for"


class RunnerError(RuntimeError):
    """The run could not be started (Temporal unreachable, no worker, ...)."""


async def _approve_waiting(
    client: Client, handle: WorkflowHandle[Any, Any], user: str, decided: set[str]
) -> None:
    """Approves every approval step that waits, as ``user`` (sandbox only).

    A Slack user id (``U01ALICE``) decides as a Slack click would, so the approver check
    applies; any other name decides as an operator.
    """
    source: DecisionSource = "slack" if USER_ID.match(user) else "cli"
    for item in await temporal_client.approvals(client, handle.id):
        if item.status != "waiting" or item.slack_ts is None or item.step_id in decided:
            continue
        decided.add(item.step_id)
        params = DecideInput(step_id=item.step_id, decision="approved", by=user, source=source)
        try:
            await approvals.send(client, handle.id, params)
        except approvals.ApprovalError as exc:
            log.warning("sandbox: could not approve %s as %s: %s", item.step_id, user, exc)


async def drive(
    client: Client,
    handle: WorkflowHandle[Any, Any],
    *,
    approve_as: str | None,
    resolve: Callable[[], Awaitable[None]] | None,
) -> None:
    """Plays the humans of a sandboxed run: approves, and resolves the incident it waits on."""
    decided: set[str] = set()
    resolved = False
    while True:
        if approve_as:
            await _approve_waiting(client, handle, approve_as, decided)
        if resolve is not None and not resolved:
            state = await temporal_client.run_state(client, handle.id)
            if any(s.type == WAIT_NODE and s.status == "running" for s in state.steps):
                await resolve()
                resolved = True
        await asyncio.sleep(DRIVER_POLL_SECONDS)


@contextlib.asynccontextmanager
async def existing(settings: Settings) -> AsyncIterator[Client]:
    """The configured Temporal, whose workers are run by ``make run``."""
    try:
        client = await temporal_client.connect(settings)
    except (RuntimeError, RPCError) as exc:
        raise RunnerError(
            f"cannot reach Temporal at {settings.address} ({exc}); start the stack with "
            "'make run', or pass --sandbox"
        ) from None
    yield client


async def run_once(
    plan: Plan,
    trigger: dict[str, Any],
    *,
    settings: Settings,
    sandbox: bool,
    workspace: str = "default",
    approve_as: str | None = None,
) -> dict[str, Any]:
    """Runs ``plan`` for ``trigger`` and returns ``{status, error, steps}``."""
    if not sandbox:
        async with existing(settings) as client:
            return await _run(
                client,
                settings.task_queue,
                plan,
                trigger,
                workspace=workspace,
                incident_io_task_queue=settings.incident_io_task_queue,
            )
    from stack.sandbox import sandbox as open_sandbox

    async with open_sandbox(settings, trigger) as box:
        return await _run(
            box.client,
            box.task_queue,
            plan,
            box.trigger,
            workspace="default",
            incident_io_task_queue=box.incident_io_task_queue,
            incident_workflow_id=box.incident_workflow_id,
            approve_as=approve_as,
            resolve=box.resolve_incident,
        )


async def _run(
    client: Client,
    queue: str,
    plan: Plan,
    trigger: dict[str, Any],
    *,
    workspace: str,
    incident_io_task_queue: str,
    incident_workflow_id: str | None = None,
    approve_as: str | None = None,
    resolve: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    params = InterpretInput(
        plan=plan,
        trigger=trigger,
        workspace=workspace,
        incident_id=trigger.get("incident_io", {}).get("incident_id"),
        incident_workflow_id=incident_workflow_id,
        incident_io_task_queue=incident_io_task_queue,
    )
    handle = await temporal_client.start_run(
        client, params, workflow_id=f"run-{plan.name}-{uuid.uuid4().hex[:12]}", task_queue=queue
    )
    driver = None
    if approve_as or resolve is not None:
        driver = asyncio.create_task(drive(client, handle, approve_as=approve_as, resolve=resolve))
    try:
        result = await temporal_client.run_result(handle)
    finally:
        if driver is not None:
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
    return _report(result)


def _report(result: RunResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "error": result.error,
        "steps": [
            {"id": s.id, "type": s.type, "status": s.status, "output": s.output}
            | ({"error": s.error} if s.error else {})
            | ({"warnings": s.warnings} if s.warnings else {})
            for s in result.steps
        ],
    }
