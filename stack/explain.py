"""``rensei explain INCIDENT``: why each definition did or did not run for an incident."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError

import temporal_client
from contracts.incident import ExplainReport
from contracts.messages import PendingApproval
from contracts.runs import RunResult
from temporal_client import QUERY_TIMEOUT, WorkflowNotFoundError

MAX_RUNS_ASKED = 50


class WaitingApproval(BaseModel):
    """An approval step a run of this incident waits on."""

    workflow_id: str
    definition: str
    approval: PendingApproval


class Explanation(ExplainReport):
    """The incident workflow's report, plus what its running runs wait on."""

    approvals: list[WaitingApproval] = Field(default_factory=list)
    unreachable: list[str] = Field(
        default_factory=list, description="runs that could not be asked for their approvals"
    )


class ExplainError(RuntimeError):
    """The incident cannot be explained; the message says why and what to do."""


async def explain(client: Client, incident_id: str, workspace: str) -> Explanation:
    """The incident workflow's own account of every event and every definition considered,
    with the approvals its running runs wait on."""
    report = await _report(client, incident_id, workspace)
    explanation = Explanation.model_validate(report.model_dump())
    runs = {
        d.workflow_id: d.definition
        for e in report.events
        for d in e.decisions
        if d.outcome in ("started", "already-started") and d.workflow_id and not d.inline
    }
    asked = list(runs.items())[-MAX_RUNS_ASKED:]
    answers = await asyncio.gather(*(_approvals_of(client, wid) for wid, _ in asked))
    for (wid, definition), answer in zip(asked, answers, strict=True):
        if isinstance(answer, str):
            explanation.unreachable.append(f"{wid}: {answer}")
            continue
        explanation.approvals.extend(
            WaitingApproval(workflow_id=wid, definition=definition, approval=a)
            for a in answer
            if a.status == "waiting"
        )
    return explanation


async def _approvals_of(client: Client, workflow_id: str) -> list[PendingApproval] | str:
    """A running run's approval steps ([] once it has ended), or why it could not be asked."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return []
        return await temporal_client.approvals(client, workflow_id, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowNotFoundError) as exc:
        return str(exc) or type(exc).__name__


async def _report(client: Client, incident_id: str, workspace: str) -> ExplainReport:
    try:
        return await temporal_client.explain(client, workspace, incident_id)
    except WorkflowNotFoundError:
        raise ExplainError(
            f"rensei has not seen incident {incident_id} in workspace '{workspace}': "
            "no webhook or sync poll mentioned it (is incident.io connected, and is the "
            "sync running?)"
        ) from None
    except RPCError as exc:
        raise ExplainError(f"cannot ask incident {incident_id}'s workflow: {exc}") from None


def _run_line(result: RunResult | None) -> str:
    """An inline run's outcome, step by step (a child run's is in its own workflow)."""
    if result is None:
        return "run: no result recorded"
    steps = ", ".join(f"{s.id} {s.status}" for s in result.steps)
    error = f": {result.error}" if result.error else ""
    warnings = "".join(f"; {w}" for s in result.steps for w in s.warnings)
    return f"run {result.status}{error} [{steps}]{warnings}"


def render(report: ExplainReport) -> str:
    """A plain-text report, one block per event."""
    title = (
        f'{report.reference or report.incident_id} "{report.title or ""}" ({report.incident_id})'
    )
    if report.last_fetch_at:
        read = f"last fetched {report.last_fetch_at}"
    elif report.status is not None:
        read = "as webhooks carried it (not fetched from incident.io yet)"
    else:
        read = "not read yet"
    lines = [
        f"{title} in workspace {report.workspace}",
        f"  status {report.status or '?'}, severity {report.severity or '?'}, {read}",
    ]
    if report.last_problem:
        lines.append(f"  problem: {report.last_problem}")
    if not report.events:
        lines.append(
            "  no events yet (the first fetch of an incident older than the connection "
            "is only a baseline)"
        )
    for event in report.events:
        what = event.kind + (f" {event.field}" if event.field else "")
        lines.append(f"event {event.seq}: {what} at {event.at} ({event.trigger_type})")
        if event.caused_by:
            lines.append(f"  rensei's own change: caused by {event.caused_by}")
        if not event.decisions:
            lines.append("  no definitions in this workspace")
        for d in event.decisions:
            version = f" v{d.version}" if d.version is not None else ""
            where = " (inline in the incident's workflow)" if d.inline else ""
            run = f" -> {d.workflow_id}{where}" if d.workflow_id else ""
            lines.append(f"  {d.outcome:<15} {d.definition}{version}: {d.reason}{run}")
            if d.inline:
                lines.append(f"    {_run_line(d.run)}")
    for watcher in report.watchers:
        lines.append(f"waiting: {watcher.workflow_id} step {watcher.step_id}")
    if isinstance(report, Explanation):
        for waiting in report.approvals:
            a = waiting.approval
            lines.append(
                f"waiting for approval: {waiting.definition} run {waiting.workflow_id} step "
                f"{a.step_id} in {a.channel} (approvers {', '.join(a.approvers)}) until "
                f"{a.deadline}; decide with: rensei approve {waiting.workflow_id} {a.step_id}"
            )
        for problem in report.unreachable:
            lines.append(f"could not ask run {problem}")
    return "\n".join(lines)
