"""``approval``: post Approve / Reject buttons and wait for a decision (a Temporal Update).

The decision arrives as the ``decide`` update on the interpreter workflow; its validator
(``ApprovalBook.check``) refuses what the run must not accept, so a refused click never
enters history. A gate without the branch for its outcome stops the run on a rejection
or a timeout: steps written after the gate must not run when nobody approved.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.incident import OwnWrite
    from contracts.messages import DecideInput, DecideResult, PendingApproval, already_decided
    from contracts.slack import (
        ApprovalPostInput,
        ApprovalResolveInput,
        SlackPostOutput,
        UsergroupMembersInput,
        UsergroupMembersResult,
    )
    from contracts.steps import ApprovalInput
    from interpreter.plan import ActionStep, NodeCall


from workflows import calls, metrics
from workflows.host import StepHost

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
BRANCHES = {"approved": "onApproved", "rejected": "onRejected", "timeout": "onTimeout"}
TIMELINE_NODE = "incident_io.timeline.add_event"
TIMELINE_QUEUE_PATCH = "approval-timeline-on-incident-io-queue"


def stamp(at: datetime) -> str:
    """UTC, to the second, as people read it in Slack and on the timeline."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class ApprovalRefusedError(ApplicationError):
    """A decision the run does not accept (raised by the ``decide`` validator)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="ApprovalRefused", non_retryable=True)


class ApprovalBook:
    """The run's approval steps: what waits, who may decide, and what was decided."""

    def __init__(self) -> None:
        self.items: dict[str, PendingApproval] = {}
        self.decisions: dict[str, DecideResult] = {}

    def check(self, params: DecideInput, now: datetime) -> None:
        """Raises ``ApprovalRefusedError`` unless ``params`` may decide its step now."""
        sid = params.step_id
        item = self.items.get(sid)
        if item is None:
            raise ApprovalRefusedError(f"no approval is waiting for step '{sid}' in this run")
        if item.status == "timeout" or (item.status == "waiting" and stamp(now) >= item.deadline):
            raise ApprovalRefusedError(
                f"the approval of step '{sid}' timed out at {item.deadline}; "
                "decisions are no longer accepted"
            )
        if item.status != "waiting":
            raise ApprovalRefusedError(already_decided(item))
        if params.source == "slack" and params.by not in item.users:
            raise ApprovalRefusedError(f"<@{params.by}> is not an approver of step '{sid}'")

    def decide(self, params: DecideInput, now: datetime) -> DecideResult:
        """Records a decision that ``check`` accepted."""
        result = DecideResult(
            step_id=params.step_id,
            decision=params.decision,
            by=params.by,
            at=stamp(now),
            reason=params.reason,
            source=params.source,
        )
        self.decisions[params.step_id] = result
        item = self.items[params.step_id]
        item.status, item.decided_by, item.decided_at = params.decision, params.by, result.at
        return result


async def run(host: StepHost, step: ActionStep, call: NodeCall) -> dict[str, Any]:
    """Runs the step for the run ``host`` and returns its output."""
    book: ApprovalBook = host.approval_book
    params = calls.inputs_of(ApprovalInput, call)
    ctx = call.context
    users = await _approver_ids(step, ctx.workspace, params.approvers)
    deadline = workflow.now() + timedelta(seconds=params.timeout)
    item = PendingApproval(
        step_id=step.id,
        channel=params.channel,
        message=params.message,
        approvers=params.approvers,
        users=users,
        deadline=stamp(deadline),
    )
    book.items[step.id] = item
    posted = await calls.call(
        step,
        "slack.approval.post",
        ApprovalPostInput(
            workspace=ctx.workspace,
            channel=params.channel,
            message=params.message,
            approvers=params.approvers,
            idempotency_key=ctx.idempotency_key,
            workflow_id=ctx.workflow_id,
            run_id=ctx.run_id,
            step_id=step.id,
        ),
        result_type=SlackPostOutput,
    )
    item.slack_channel, item.slack_ts = posted.channel, posted.ts
    metrics.approval_requested(ctx.definition)  # counted once people were actually asked
    remaining = max((deadline - workflow.now()).total_seconds(), 0.0)
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(
            lambda: step.id in book.decisions, timeout=timedelta(seconds=remaining)
        )
    decision = book.decisions.get(step.id)
    if decision is None:
        item.status = "timeout"
    metrics.approval_resolved(ctx.definition, outcome=decision.decision if decision else "timeout")
    output = _output(decision, at=stamp(workflow.now()))
    await _announce(host, step, call, item, output)
    return _route(step, params, output)


async def _approver_ids(step: ActionStep, workspace: str, approvers: list[str]) -> list[str]:
    """User ids as written, plus the members of every ``@group``, in order, once each."""
    found: list[str] = []
    for approver in approvers:
        if USER_ID.match(approver):
            ids = [approver]
        else:
            group = await calls.call(
                step,
                "slack.usergroup.members",
                UsergroupMembersInput(workspace=workspace, handle=approver),
                result_type=UsergroupMembersResult,
            )
            ids = group.users
        found.extend(i for i in ids if i not in found)
    return found


def _output(decision: DecideResult | None, *, at: str) -> dict[str, Any]:
    if decision is None:
        return {
            "decision": "timeout",
            "by": None,
            "at": at,
            "reason": None,
            "branch": "onTimeout",
            "problems": [],
        }
    return {
        "decision": decision.decision,
        "by": decision.by,
        "at": decision.at,
        "reason": decision.reason,
        "branch": BRANCHES[decision.decision],
        "problems": [],
    }


async def _announce(
    host: StepHost, step: ActionStep, call: NodeCall, item: PendingApproval, output: dict[str, Any]
) -> None:
    """Updates the Slack message (best-effort: a failure is reported in ``problems``) and
    records the decision on the incident timeline (a failure there fails the step)."""
    decision: DecideResult | None = host.approval_book.decisions.get(step.id)
    if item.slack_channel and item.slack_ts:
        resolve = ApprovalResolveInput(
            workspace=call.context.workspace,
            channel=item.slack_channel,
            ts=item.slack_ts,
            decision=output["decision"],
            by=output["by"],
            at=output["at"],
            reason=output["reason"],
            mention=decision is not None and decision.source == "slack",
        )
        try:
            await calls.call(step, "slack.approval.resolve", resolve, result_type=SlackPostOutput)
        except ActivityError as exc:
            output["problems"].append(
                f"updating the Slack message failed: {calls.failure_cause(exc)}"
            )
    incident = call.context.incident_id
    if incident:
        await _record_on_timeline(host, step, call, item, output, incident)


async def _record_on_timeline(
    host: StepHost,
    step: ActionStep,
    call: NodeCall,
    item: PendingApproval,
    output: dict[str, Any],
    incident: str,
) -> None:
    note = NodeCall(
        context=call.context.model_copy(update={"step_id": f"{step.id}.decision"}),
        inputs={
            "incidentId": incident,
            "eventType": "approval",
            "title": _title(step.id, output),
            "description": f"{item.message}\n\n{_title(step.id, output)} at {output['at']}"
            + (f": {output['reason']}" if output["reason"] else ""),
        },
    )
    if not workflow.patched(TIMELINE_QUEUE_PATCH):
        # Runs recorded before the fix scheduled the call on the step's own queue.
        try:
            await calls.call(step, TIMELINE_NODE, note, result_type=dict)
        except ActivityError as exc:
            output["problems"].append(f"the timeline entry failed: {calls.failure_cause(exc)}")
        return
    own = host.reports_own_writes_to(incident)
    workflow_id = call.context.workflow_id
    if own:
        await host.tell_incident(OwnWrite(workflow_id=workflow_id, step_id=step.id, phase="intent"))
    try:
        written = await calls.call(
            step, TIMELINE_NODE, note, result_type=dict, task_queue=host.incident_io_task_queue
        )
    except ActivityError as exc:
        if own:
            await host.tell_incident(
                OwnWrite(workflow_id=workflow_id, step_id=step.id, phase="failed")
            )
        raise ApplicationError(
            f"{_title(step.id, output)}, but recording it on the incident timeline failed: "
            f"{calls.failure_cause(exc)}",
            non_retryable=True,
        ) from None
    output["timeline_item"] = written.get("id")
    if own:
        await host.tell_incident(
            OwnWrite(
                workflow_id=workflow_id,
                step_id=step.id,
                phase="done",
                entry_ids=[written["id"]] if isinstance(written.get("id"), str) else [],
            )
        )


def _title(step_id: str, output: dict[str, Any]) -> str:
    match output["decision"]:
        case "approved":
            return f"Approval '{step_id}' approved by {output['by']}"
        case "rejected":
            return f"Approval '{step_id}' rejected by {output['by']}"
    return f"Approval '{step_id}' timed out"


def _route(step: ActionStep, params: ApprovalInput, output: dict[str, Any]) -> dict[str, Any]:
    """The output, or the step's failure when the outcome has no branch to take."""
    branch = output["branch"]
    if output["decision"] == "approved" or branch in step.branches:
        return output
    if output["decision"] == "rejected":
        why = f": {output['reason']}" if output["reason"] else ""
        raise ApplicationError(
            f"approval '{step.id}' was rejected by {output['by']}{why}",
            non_retryable=True,
        )
    raise ApplicationError(
        f"approval '{step.id}' got no decision within {calls.human_duration(params.timeout)}",
        non_retryable=True,
    )
