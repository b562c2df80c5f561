"""Incident references (``INC-42``, ``42``) to incident ids, for every CLI verb that takes one.

The incident workflow carries the reference in its ``IncidentReference`` search attribute,
so Temporal's visibility answers first; an incident rensei has not seen yet is asked of
incident.io with the workspace's token, the sandbox's simulator when the token is the
sandbox's (a sandbox never sends anything to https://api.incident.io).
"""

from __future__ import annotations

import re

import httpx
from temporalio.client import Client

from contracts import search
from settings import Settings

_REFERENCE = re.compile(r"^(?:INC-)?(\d{1,12})$", re.IGNORECASE)
MAX_RUNS = 50


class IncidentReferenceError(LookupError):
    """A reference names no incident that rensei or incident.io knows; the message says why."""


def as_reference(text: str) -> str | None:
    """``INC-42`` for ``INC-42``, ``inc-42`` or ``42``; None for anything else (an id)."""
    found = _REFERENCE.match(text.strip())
    return f"INC-{int(found.group(1))}" if found else None


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def from_visibility(client: Client, workspace: str, reference: str) -> str | None:
    """The incident id whose incident workflow carries ``reference``, or None."""
    query = (
        f"WorkflowType = 'IncidentWorkflow' AND {search.WORKSPACE.name} = {_quoted(workspace)} "
        f"AND {search.INCIDENT_REFERENCE.name} = {_quoted(reference)}"
    )
    async for execution in client.list_workflows(query, limit=1):
        found = execution.typed_search_attributes.get(search.INCIDENT_ID)
        if found:
            return found
    return None


async def run_waiting_for_approval(
    client: Client, workspace: str, reference: str, step_id: str
) -> str:
    """The running run of incident ``reference`` whose approval step ``step_id`` waits."""
    import temporal_client

    query = (
        f"WorkflowType = 'InterpreterWorkflow' AND ExecutionStatus = 'Running' "
        f"AND {search.WORKSPACE.name} = {_quoted(workspace)} "
        f"AND {search.INCIDENT_REFERENCE.name} = {_quoted(reference)}"
    )
    waiting: list[str] = []
    async for execution in client.list_workflows(query, limit=MAX_RUNS):
        approvals = await temporal_client.approvals(client, execution.id)
        if any(a.step_id == step_id and a.status == "waiting" for a in approvals):
            waiting.append(execution.id)
    if not waiting:
        raise IncidentReferenceError(
            f"no run of {reference} in workspace '{workspace}' waits for approval step '{step_id}'"
        )
    if len(waiting) > 1:
        raise IncidentReferenceError(
            f"{len(waiting)} runs of {reference} wait for approval step '{step_id}': "
            f"{', '.join(sorted(waiting))}; pass the run's id instead"
        )
    return waiting[0]


def incident_io_url(settings: Settings, token: str) -> str:
    """Where a call with ``token`` goes: the sandbox simulator for the sandbox token."""
    from simulators.incident_io.seed import SANDBOX_TOKEN

    if token != SANDBOX_TOKEN:
        return settings.incident_io_base_url
    if settings.sandbox_incident_io_url:
        return settings.sandbox_incident_io_url
    from stack.sandbox_mode import sandbox_urls

    return sandbox_urls(settings)["incident-io"]


async def from_incident_io(
    settings: Settings, workspace: str, reference: str, *, http: httpx.AsyncClient
) -> str:
    """The incident id of ``reference``, asked of incident.io with the workspace's token."""
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
        raise IncidentReferenceError(
            f"{reference} is a reference: rensei needs the incident.io token of workspace "
            f"'{workspace}' to look it up (connect incident.io, or pass the incident id instead)"
        )
    client = IncidentIoClient(http, base_url=incident_io_url(settings, token), token=token)
    try:
        return (await client.get_incident(reference)).id
    except IntegrationError as exc:
        raise IncidentReferenceError(f"{reference}: {exc}") from None


async def resolve(
    settings: Settings,
    text: str,
    *,
    workspace: str,
    client: Client | None,
    http: httpx.AsyncClient | None = None,
) -> str:
    """The incident id ``text`` names: itself when it is an id, else the reference's id."""
    reference = as_reference(text)
    if reference is None:
        return text.strip()
    if client is not None:
        found = await from_visibility(client, workspace, reference)
        if found is not None:
            return found
    if http is not None:
        return await from_incident_io(settings, workspace, reference, http=http)
    import worker

    async with worker.http_client() as own:
        return await from_incident_io(settings, workspace, reference, http=own)
