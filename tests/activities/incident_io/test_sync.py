"""The incident workflows' snapshots of incident.io, against the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.incident_io.preferences import WorkspacePreferences
from activities.incident_io.sync import SyncActivities
from simulators.incident_io.seed import SEVERITY_MINOR, STATUS_INVESTIGATING
from tests.activities.incident_io.conftest import Env
from workflows.contracts import SnapshotInput, SnapshotResult

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
