"""The incident workflows' view of incident.io: snapshots, and the polling sync's hints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import activity

from activities.credentials import MissingCredentialError
from activities.errors import (
    AuthenticationError,
    IntegrationError,
    NotFoundError,
    to_application_error,
)
from activities.incident_io.client import IncidentIoClient
from activities.incident_io.models import Incident, Severity
from activities.incident_io.normalize import incident_fields
from activities.incident_io.preferences import Preferences, no_preferences
from contracts.errors import problems
from contracts.events import IncidentSnapshot, TimelineEntry, tracked_values
from contracts.incident import (
    Hint,
    PollInput,
    PollResult,
    SnapshotInput,
    SnapshotResult,
)
from contracts.triggers import parse_time

MAX_ENTRIES = 50
MAX_SEEN = 500  # incidents updated within one OVERLAP: far more than any workspace has
OVERLAP = timedelta(seconds=2)  # re-read the edge of the window; duplicates are harmless

HintIncident = Callable[[str, str, Hint, str | None], Awaitable[None]]
"""``(workspace, incident_id, hint, connected_at)``: signal-with-start of an incident's workflow."""


class SyncActivities:
    """Snapshots for the per-incident workflows, and the sync poll that hints them.

    Args:
        client_for: an incident.io client for a workspace (credentials looked up inside).
        hint_incident: delivers a hint to an incident's workflow, starting it if needed
            (``temporal_client.incident_hinter``, as the webhook route does).
        preferences: a workspace's severity overrides and team field (the store's).
        on_cursor: called with (workspace, cursor) after each poll (the store records it).
    """

    def __init__(
        self,
        client_for: Callable[[str], Awaitable[IncidentIoClient]],
        hint_incident: HintIncident,
        *,
        preferences: Preferences | None = None,
        on_cursor: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self._client_for = client_for
        self._hint_incident = hint_incident
        self._preferences = preferences or no_preferences
        self._on_cursor = on_cursor

    def all(self) -> list[Callable[..., Any]]:
        return [self.snapshot, self.poll]

    def local(self) -> list[Callable[..., Any]]:
        """The activities the incident workflows run as local activities (no incident.io
        call but the per-process cached catalogue), registered on the workflows' worker."""
        return [self.normalize]

    async def _client(self, workspace: str) -> IncidentIoClient:
        try:
            return await self._client_for(workspace)
        except MissingCredentialError as exc:
            raise to_application_error(AuthenticationError(str(exc))) from None

    @activity.defn(name="incident_io.sync.snapshot")
    async def snapshot(self, params: SnapshotInput) -> SnapshotResult:
        """The incident as it is now, normalized, with its newest updates and timeline items
        (none when ``entries`` is False: the workflow needs them only for some definitions).

        An incident the key cannot read (deleted: 404; private without private access:
        403 or 404) is reported as ``missing`` with incident.io's reason, not raised: the
        incident workflow decides how often to try again.
        """
        client = await self._client(params.workspace)
        try:
            incident = _carried(params) or await client.get_incident(params.incident_id)
            severities = await client.severities()
            updates = await client.list_incident_updates(incident.id) if params.entries else []
            items = await client.list_timeline_items(incident.id) if params.entries else []
        except NotFoundError as exc:
            return SnapshotResult(missing=f"incident.io answered 404: {exc}")
        except AuthenticationError as exc:
            if exc.status != 403:
                raise to_application_error(exc) from None
            return SnapshotResult(missing=f"incident.io answered 403: {exc}")
        except IntegrationError as exc:
            raise to_application_error(exc) from None
        entries = [
            TimelineEntry(
                id=u.id,
                kind="incident_update",
                at=u.created_at,
                message=u.message,
                title=u.new_incident_status.name if u.new_incident_status else None,
            )
            for u in updates
        ] + [
            TimelineEntry(
                id=t.id, kind="timeline_item", at=t.timestamp, title=t.title, message=t.description
            )
            for t in items
        ]
        entries = sorted(entries, key=lambda e: (e.at or "", e.id))[-MAX_ENTRIES:]
        return SnapshotResult(
            snapshot=await self._snapshot(params.workspace, incident, severities, entries)
        )

    @activity.defn(name="incident_io.sync.normalize")
    async def normalize(self, params: SnapshotInput) -> SnapshotResult:
        """The snapshot fields of the incident a webhook carried, without fetching it.

        Reads only the severity catalogue (cached per process for 60 s) and the workspace's
        preferences; the snapshot has no entries: updates and timeline items are fetched
        with the next full snapshot. An incident that does not read as one is ``missing``,
        so that the workflow fetches it instead.
        """
        if params.incident is None:
            return SnapshotResult(missing="the hint carried no incident")
        try:
            incident = Incident.model_validate(params.incident)
        except ValidationError as exc:
            return SnapshotResult(
                missing=f"the webhook's incident does not read as one: "
                f"{problems(exc, root='incident')}"
            )
        client = await self._client(params.workspace)
        try:
            severities = await client.severities()
        except IntegrationError as exc:
            raise to_application_error(exc) from None
        return SnapshotResult(
            snapshot=await self._snapshot(params.workspace, incident, severities, [])
        )

    async def _snapshot(
        self,
        workspace: str,
        incident: Incident,
        severities: list[Severity],
        entries: list[TimelineEntry],
    ) -> IncidentSnapshot:
        prefs = await self._preferences(workspace)
        fields = incident_fields(
            incident.model_dump(mode="json"),
            severities=[s.model_dump() for s in severities],
            overrides=prefs.severity_overrides,
            team_field=prefs.team_field,
        )
        tracked = tracked_values(fields, roles=_roles(incident))
        return IncidentSnapshot(fields=fields, tracked=tracked, entries=entries)

    @activity.defn(name="incident_io.sync.poll")
    async def poll(self, params: PollInput) -> PollResult:
        """Hints the workflow of every incident updated since the cursor; returns the new cursor.

        The window re-reads ``OVERLAP`` before the cursor so that nothing updated in the
        same instant is missed; ``seen`` (id@updated_at of what was hinted inside that
        overlap) keeps an unchanged incident from being hinted again on every poll.
        """
        now = datetime.now(UTC)
        if params.cursor is None:
            cursor = (now - OVERLAP).isoformat()
            await self._record(params.workspace, cursor)
            return PollResult(cursor=cursor)
        since = datetime.fromisoformat(params.cursor)
        client = await self._client(params.workspace)
        try:
            incidents = await client.paginate(
                "/v2/incidents",
                "incidents",
                Incident,
                params=[("updated_at[gte]", since.date().isoformat())],
                page_size=250,
            )
        except IntegrationError as exc:
            raise to_application_error(exc) from None
        already = set(params.seen)
        recent = [i for i in incidents if _after(i.updated_at, since)]
        changed = [i for i in recent if _version(i) not in already]
        for incident in changed:
            hint = Hint(source="sync", updated_at=incident.updated_at)
            await self._hint_incident(params.workspace, incident.id, hint, params.connected_at)
            activity.heartbeat(incident.id)
        times = [t for i in recent if (t := parse_time(i.updated_at)) is not None]
        edge = max(since, max(times) - OVERLAP) if times else since
        cursor = edge.isoformat() if times else params.cursor
        seen = sorted({_version(i) for i in recent if _after(i.updated_at, edge)})
        await self._record(params.workspace, cursor)
        return PollResult(cursor=cursor, hinted=len(changed), seen=seen[-MAX_SEEN:])

    async def _record(self, workspace: str, cursor: str) -> None:
        if self._on_cursor is not None:
            await self._on_cursor(workspace, cursor)


def _carried(params: SnapshotInput) -> Incident | None:
    """The incident a webhook carried for this snapshot, when it reads as one."""
    if params.incident is None:
        return None
    try:
        return Incident.model_validate(params.incident)
    except ValidationError:
        return None


def _version(incident: Incident) -> str:
    return f"{incident.id}@{incident.updated_at}"


def _roles(incident: Incident) -> dict[str, str | None]:
    roles: dict[str, str | None] = {}
    for assignment in incident.incident_role_assignments:
        role = (assignment.get("role") or {}).get("name")
        if role:
            roles[str(role)] = (assignment.get("assignee") or {}).get("name")
    return roles


def _after(value: str | None, since: datetime) -> bool:
    moment = parse_time(value)
    return moment is None or moment >= since
