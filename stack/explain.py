"""``rensei explain INCIDENT``: why each definition did or did not run for an incident."""

from __future__ import annotations

import re

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from settings import Settings
from workflows.ids import incident_workflow_id
from workflows.incident import ExplainReport, IncidentWorkflow

REFERENCE = re.compile(r"^(?:INC-)?\d+$", re.IGNORECASE)


class ExplainError(RuntimeError):
    """The incident cannot be explained; the message says why and what to do."""


async def resolve_reference(settings: Settings, reference: str, workspace: str) -> str:
    """The incident id of ``INC-42`` (or ``42``), asked of incident.io with the workspace token."""
    import worker
    from activities.credentials import ChainedCredentials, from_settings
    from activities.errors import IntegrationError
    from activities.incident_io.client import IncidentIoClient
    from store import Store

    store = Store.from_settings(settings)
    try:
        await store.migrate()
        token = await ChainedCredentials([store, from_settings(settings)]).get(
            workspace, "incident_io", "token"
        )
    finally:
        await store.close()
    if token is None:
        raise ExplainError(
            f"{reference} is a reference: rensei needs the incident.io token of workspace "
            f"'{workspace}' to look it up (connect incident.io, or pass the incident id instead)"
        )
    async with worker.http_client() as http:
        client = IncidentIoClient(http, base_url=settings.incident_io_base_url, token=token)
        try:
            return (await client.get_incident(reference)).id
        except IntegrationError as exc:
            raise ExplainError(f"{reference}: {exc}") from None


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
        if event.caused_by:
            lines.append(f"  rensei's own change: caused by {event.caused_by}")
        if not event.decisions:
            lines.append("  no definitions in this workspace")
        for d in event.decisions:
            version = f" v{d.version}" if d.version is not None else ""
            run = f" -> {d.workflow_id}" if d.workflow_id else ""
            lines.append(f"  {d.outcome:<15} {d.definition}{version}: {d.reason}{run}")
    for watcher in report.watchers:
        lines.append(f"waiting: {watcher.workflow_id} step {watcher.step_id}")
    return "\n".join(lines)
