"""Deciding approval steps from outside a run (``rensei approve``, the sandbox's auto-approver).

The update itself is ``temporal_client.decide``; this says what went wrong in a CLI's words.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError

import temporal_client
from contracts.messages import DecideInput, DecideResult, Decision
from settings import Settings
from temporal_client import DecisionRefusedError, WorkflowNotFoundError


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
    try:
        client = await temporal_client.connect(settings)
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
    try:
        return await temporal_client.decide(
            client, workflow_id, params, run_id=run_id, update_id=update_id
        )
    except DecisionRefusedError as exc:
        raise ApprovalError(str(exc)) from None
    except WorkflowNotFoundError:
        why = await temporal_client.why_closed(client, workflow_id, params.step_id, run_id=run_id)
        raise ApprovalError(why) from None
    except RPCError as exc:
        raise ApprovalError(f"Temporal refused the decision: {exc}") from None
