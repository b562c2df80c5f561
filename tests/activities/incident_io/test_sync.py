"""The incident workflows' snapshots of incident.io, against the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.incident_io.preferences import WorkspacePreferences
from activities.incident_io.sync import SyncActivities
from contracts.incident import Hint, PollInput, PollResult, SnapshotInput, SnapshotResult
from contracts.triggers import parse_time
from simulators.incident_io.seed import SEVERITY_MINOR, STATUS_INVESTIGATING
from tests.activities.incident_io.conftest import Env

pytestmark = pytest.mark.asyncio


def sync_for(
    env: Env, overrides: Mapping[str, str] | None = None, temporal: Any = None
) -> SyncActivities:
    async def lookup(workspace: str) -> WorkspacePreferences:
        return WorkspacePreferences(overrides or {})

    return SyncActivities(env.nodes.client, temporal, task_queue="unused", preferences=lookup)


async def test_a_snapshot_normalizes_the_incident_and_its_entries(env: Env) -> None:
    incident = env.state.create_incident(
        "Queue backlog", status_id=STATUS_INVESTIGATING, severity_id=SEVERITY_MINOR
    )
    result: SnapshotResult = await ActivityEnvironment().run(
        sync_for(env).snapshot, SnapshotInput(workspace="default", incident_id=incident.id)
    )
    assert result.snapshot is not None
    fields = result.snapshot.fields
    assert (fields["title"], fields["severity"], fields["severity_name"]) == (
        "Queue backlog",
        "SEV-4",
        "Minor",
    )
    assert result.snapshot.tracked["status"] == "Investigating"


async def test_workspace_overrides_win_over_ranks(env: Env) -> None:
    incident = env.state.create_incident(
        "Queue backlog", status_id=STATUS_INVESTIGATING, severity_id=SEVERITY_MINOR
    )
    result: SnapshotResult = await ActivityEnvironment().run(
        sync_for(env, {"Minor": "SEV-1"}).snapshot,
        SnapshotInput(workspace="default", incident_id=incident.id),
    )
    assert result.snapshot is not None and result.snapshot.fields["severity"] == "SEV-1"


async def test_a_missing_incident_is_reported_not_raised(env: Env) -> None:
    result: SnapshotResult = await ActivityEnvironment().run(
        sync_for(env).snapshot, SnapshotInput(workspace="default", incident_id="01NOPE")
    )
    assert result.snapshot is None
    assert result.missing is not None
    assert result.missing.startswith("incident.io answered 404: Incident not found")


class Recorder:
    """Stands in for the Temporal client: records which incident workflows were hinted."""

    def __init__(self) -> None:
        self.hinted: list[str] = []
        self.hints: list[Hint] = []

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        self.hinted.append(kwargs["id"])
        self.hints.extend(kwargs["start_signal_args"])


async def test_the_poll_hints_a_change_once_not_on_every_poll(env: Env) -> None:
    recorder = Recorder()
    sync = sync_for(env, temporal=recorder)
    since = "2020-01-01T00:00:00+00:00"
    first: PollResult = await ActivityEnvironment().run(
        sync.poll, PollInput(workspace="default", cursor=since)
    )
    assert first.hinted == len(env.state.incidents)
    # Nothing changed: the newest incident sits inside the re-read overlap, yet is not
    # hinted again, however many polls follow.
    second: PollResult = await ActivityEnvironment().run(
        sync.poll, PollInput(workspace="default", cursor=first.cursor, seen=first.seen)
    )
    third: PollResult = await ActivityEnvironment().run(
        sync.poll, PollInput(workspace="default", cursor=second.cursor, seen=second.seen)
    )
    assert (second.hinted, third.hinted) == (0, 0)
    assert third.cursor == first.cursor
    # A real change is hinted, once.
    changed = env.state.create_incident("Queue backlog", status_id=STATUS_INVESTIGATING)
    fourth: PollResult = await ActivityEnvironment().run(
        sync.poll, PollInput(workspace="default", cursor=third.cursor, seen=third.seen)
    )
    assert fourth.hinted == 1 and recorder.hinted[-1].endswith(changed.id)
    # It names the version it saw, so a workflow that has it already fetches nothing.
    assert parse_time(recorder.hints[-1].updated_at) == changed.updated_at
    fifth: PollResult = await ActivityEnvironment().run(
        sync.poll, PollInput(workspace="default", cursor=fourth.cursor, seen=fourth.seen)
    )
    assert fifth.hinted == 0


async def test_a_forbidden_incident_is_reported_not_raised() -> None:
    import httpx

    from activities.incident_io.client import IncidentIoClient

    def forbidden(request: httpx.Request) -> httpx.Response:
        body = {
            "type": "resource_forbidden",
            "status": 403,
            "request_id": "req-403",
            "errors": [{"code": "resource_forbidden", "message": "Forbidden"}],
        }
        return httpx.Response(403, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(forbidden)) as http:
        client = IncidentIoClient(http, base_url="https://api.incident.io", token="inc_x")

        async def client_for(workspace: str) -> IncidentIoClient:
            return client

        temporal: Any = None
        sync = SyncActivities(client_for, temporal, task_queue="unused")
        result: SnapshotResult = await ActivityEnvironment().run(
            sync.snapshot, SnapshotInput(workspace="default", incident_id="01PRIVATE")
        )
    assert result.snapshot is None
    assert result.missing is not None
    assert result.missing.startswith("incident.io answered 403: Permission denied")
