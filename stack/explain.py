"""``rensei explain INCIDENT``: why each definition did or did not run for an incident."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts.ids import incident_workflow_id
from workflows.incident import ExplainReport, IncidentWorkflow


class ExplainError(RuntimeError):
    """The incident cannot be explained; the message says why and what to do."""


async def explain(client: Client, incident_id: str, workspace: str) -> ExplainReport:
    """The incident workflow's own account of every event and every definition considered."""
    handle = client.get_workflow_handle_for(
        IncidentWorkflow.run, incident_workflow_id(workspace, incident_id)
    )
    try:
        return await handle.query(IncidentWorkflow.explain)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ExplainError(
                f"rensei has not seen incident {incident_id} in workspace '{workspace}': "
                "no webhook or sync poll mentioned it (is incident.io connected, and is the "
                "sync running?)"
            ) from None
        raise ExplainError(f"cannot ask incident {incident_id}'s workflow: {exc}") from None


def render(report: ExplainReport) -> str:
    """A plain-text report, one block per event."""
    title = (
        f'{report.reference or report.incident_id} "{report.title or ""}" ({report.incident_id})'
    )
    lines = [
        f"{title} in workspace {report.workspace}",
        f"  status {report.status or '?'}, severity {report.severity or '?'}, "
        f"last fetched {report.last_fetch_at or 'never'}",
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
        if not event.decisions:
            lines.append("  no definitions in this workspace")
        for d in event.decisions:
            version = f" v{d.version}" if d.version is not None else ""
            run = f" -> {d.workflow_id}" if d.workflow_id else ""
            lines.append(f"  {d.outcome:<15} {d.definition}{version}: {d.reason}{run}")
    for watcher in report.watchers:
        lines.append(f"waiting: {watcher.workflow_id} step {watcher.step_id}")
    return "\n".join(lines)
