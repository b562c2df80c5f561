"""Stored IncidentWorkflow histories replay against the current incident workflow.

``fetched.json`` was recorded before the incident a webhook carries was used (the first
snapshot fetched by ``incident_io.sync.snapshot``); ``from-webhook.json`` after (the first
snapshot from ``incident_io.sync.normalize``, behind the ``webhook-snapshot`` patch). Both
are a public incident declared, routed by one definition and resolved, driven by the
incident.io simulator's signed webhooks.
"""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.incident import BATCH_LOOKUP, INLINE_RUNS, WEBHOOK_SNAPSHOT, IncidentWorkflow

from .test_replay import HISTORIES

INCIDENT_HISTORIES = HISTORIES / "incident"
WORKFLOW_IDS = {
    "fetched": "incident-default-01M8TCWHT0R84P57VFQVC2R1YD",
    "from-webhook": "incident-default-01M8TCX2S7R84P57VFQVC2R1YD",
}


def _scheduled(history: WorkflowHistory) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


def _patches(history: WorkflowHistory) -> list[str]:
    found = []
    for e in history.events:
        marker = e.marker_recorded_event_attributes
        if e.HasField("marker_recorded_event_attributes") and marker.marker_name == "core_patch":
            found.append(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return found


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(WORKFLOW_IDS))
async def test_stored_incident_history_replays(name: str) -> None:
    text = (INCIDENT_HISTORIES / f"{name}.json").read_text()
    history = WorkflowHistory.from_json(WORKFLOW_IDS[name], text)
    # The two shapes differ where the patch says: the new incident fetched, or taken from
    # the webhook (the status change is fetched in both: one of its deliveries had none).
    shape = (_scheduled(history).count("incident_io.sync.snapshot"), _patches(history))
    assert shape == ((2, []) if name == "fetched" else (1, [WEBHOOK_SNAPSHOT]))
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def _markers(history: WorkflowHistory, name: str) -> int:
    return sum(
        1
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == name
    )


@pytest.mark.parametrize(
    ("name", "workflow_id", "new_shape"),
    [
        ("incident-lifecycle-1", "incident-acme-01REPLAYINCIDENT", False),
        ("incident-inline", "incident-acme-01REPLAYINLINE", True),
    ],
)
def test_stored_histories_before_and_after_the_batch_lookup_and_inline_runs(
    name: str, workflow_id: str, new_shape: bool
) -> None:
    """The two shapes the replay tests cover: one look-up per event and a child per run
    before; one look-up per batch (a local activity) and runs inline after."""
    history = WorkflowHistory.from_json(workflow_id, (HISTORIES / f"{name}.json").read_text())
    scheduled = _scheduled(history)
    children = sum(
        1
        for e in history.events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    )
    if new_shape:
        assert _patches(history)[:2] == [BATCH_LOOKUP, INLINE_RUNS]
        assert "definitions.candidates" not in scheduled
        assert _markers(history, "core_local_activity") == 3  # one look-up per batch
        assert children == 1  # the waiting run; the two others ran inline
        assert scheduled.count("debug.echo") == 3  # route; on-update for severity and status
    else:
        assert BATCH_LOOKUP not in _patches(history) and INLINE_RUNS not in _patches(history)
        assert "definitions.candidates" in scheduled
