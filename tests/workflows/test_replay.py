"""Stored histories replay against the current workflow code (a guard for running workflows).

There is at least one stored history per registered workflow type. Record them again after
a deliberate, patched change with ``python -m tests.workflows.record_histories``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from contracts.ids import sync_workflow_id
from worker import WORKFLOWS
from workflows.incident import SYNC_SEEN, WATCH_BATCH, IncidentWorkflow
from workflows.interpreter import OWN_WRITES_PATCH, InterpreterWorkflow
from workflows.sync import WorkspaceSyncWorkflow
from workflows.wait_step import WATCH_ONCE

HISTORIES = Path(__file__).parent.parent / "fixtures" / "histories"
EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "route-by-severity.yaml"
FAILING = """name: failing
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: tolerated
    type: test.flaky
    continueOnError: true
    inputs: {key: replay-tolerated, fatal: true}
  - id: gate
    type: condition
    condition: "{{ has($steps.tolerated.error) }}"
    onTrue: [fatal]
  - id: fatal
    type: test.flaky
    inputs: {key: replay-fatal, fatal: true}
"""

TYPED = """name: typed-plan
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: gate
    type: condition
    condition: "{{ $trigger.incident_io.severity != 'SEV-4' }}"
    onTrue: [triage]
    onFalse: [quiet]
  - id: triage
    type: condition
    condition: "{{ $trigger.incident_io.severity }}"
    cases:
      - value: SEV-1
        steps: [page]
      - default: [note]
  - id: page
    type: debug.echo
    inputs: {message: "page {{ $trigger.incident_io.title }}"}
  - id: note
    type: debug.echo
    inputs: {message: "note {{ $trigger.incident_io.title }} at {{ $steps.triage.value }}"}
  - id: quiet
    type: debug.echo
    inputs: {message: quiet}
"""

THREAD_OF = """name: thread-of
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: top
    type: slack.post
    inputs: {channel: "#incidents", message: "{{ $trigger.incident_io.title }}"}
  - id: reply
    type: slack.post
    inputs: {channel: "#incidents", message: "triaging", threadOf: top}
"""

INCIDENT_WRITE = """name: incident-write
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: note
    type: incident_io.timeline.add_event
    inputs:
      incidentId: "{{ $trigger.incident_io.incident_id }}"
      eventType: custom
      title: "triaging {{ $trigger.incident_io.title }}"
"""

CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "route-sev1": (EXAMPLE.read_text(), EXAMPLE.name, {"severity": "SEV-1"}),
    "route-sev3": (EXAMPLE.read_text(), EXAMPLE.name, {"severity": "SEV-3"}),
    "failing": (FAILING, "failing.yaml", {"severity": "SEV-2"}),
    "typed-plan": (TYPED, "typed-plan.yaml", {"severity": "SEV-2"}),
    "thread-of": (THREAD_OF, "thread-of.yaml", {"severity": "SEV-2"}),
    "incident-write": (INCIDENT_WRITE, "incident-write.yaml", {"severity": "SEV-2"}),
}
"""Interpreter runs recorded directly: definition text, file name, trigger fields.

``route-*`` and ``failing`` pin plans of the single step shape (every field on every step);
``typed-plan`` was recorded after steps were split by kind, each with only its own fields;
``thread-of`` after the catalogue declared ``threadOf`` (its reply step carries ``references``);
``incident-write`` after the catalogue described what a node writes to an incident (its step
carries ``incident_write``), a run that writes to its own incident and so reports the write
to that incident's workflow (``OWN_WRITES``: here one that does not exist).
"""

OWN_WRITES = {"incident-write": "incident-acme-01REPLAY"}
"""Cases run for their incident, by the id of the incident's workflow they report writes to."""

INCIDENT = "incident-acme-01REPLAYINCIDENT"
INLINE = "incident-acme-01REPLAYINLINE"


class Stored(NamedTuple):
    """A stored history's workflow type and id (child ids derive from the id: replay needs it)."""

    workflow: type
    workflow_id: str


HISTORIES_STORED: dict[str, Stored] = {
    **{name: Stored(InterpreterWorkflow, f"replay-{name}") for name in CASES},
    "incident-lifecycle-1": Stored(IncidentWorkflow, INCIDENT),
    "incident-lifecycle-2": Stored(IncidentWorkflow, INCIDENT),
    "incident-watcher": Stored(InterpreterWorkflow, f"{INCIDENT}-1-created-watch"),
    "incident-batched-1": Stored(IncidentWorkflow, INCIDENT),
    "incident-batched-2": Stored(IncidentWorkflow, INCIDENT),
    "incident-watcher-once": Stored(InterpreterWorkflow, f"{INCIDENT}-1-created-watch"),
    "incident-inline": Stored(IncidentWorkflow, INLINE),
    "workspace-sync": Stored(WorkspaceSyncWorkflow, sync_workflow_id("acme")),
}
"""Every stored history and the workflow it is a run of.

``incident-lifecycle-1`` is an incident's first run: created, a definition started whose
run waits on the incident (``incident-watcher``), an update that starts another, the
resolution forwarded to the watcher, then continue-as-new; ``-2`` is the run it continued
as, started with the carried state and idling towards its end. ``incident-batched-*`` and
``incident-watcher-once`` are the same story after the ``watch-batch`` and ``watch-once``
patches: the watcher named the event it waits for and was sent only the resolution, in the
workflow task that found it, and sent no unwatch; a poll's hint for the version a webhook
had brought fetched nothing. All of these are from before the ``batch-lookup`` and
``inline-runs`` patches; ``incident-inline`` after them: the created event's route run and
the update's run inline, the waiting run a child, one look-up per batch.
"""


def test_histories_are_stored() -> None:
    assert {p.stem for p in HISTORIES.glob("*.json")} == set(HISTORIES_STORED)


def test_every_registered_workflow_type_has_a_stored_history() -> None:
    recorded = {stored.workflow for stored in HISTORIES_STORED.values()}
    missing = [cls.__name__ for cls in WORKFLOWS if cls not in recorded]
    assert not missing, f"no stored replay history for {missing}: add one to record_histories"


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(HISTORIES_STORED))
async def test_stored_history_replays(name: str) -> None:
    stored = HISTORIES_STORED[name]
    text = (HISTORIES / f"{name}.json").read_text()
    history = WorkflowHistory.from_json(stored.workflow_id, text)
    # Only the expected type is registered: a history of another type fails to replay.
    replayer = Replayer(workflows=[stored.workflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def _shape(name: str) -> tuple[list[str], list[str], list[str]]:
    """Signals a stored history sent and received, and its patch markers."""
    stored = HISTORIES_STORED[name]
    history = WorkflowHistory.from_json(
        stored.workflow_id, (HISTORIES / f"{name}.json").read_text()
    )
    sent, received, patches = [], [], []
    for e in history.events:
        if e.HasField("signal_external_workflow_execution_initiated_event_attributes"):
            sent.append(e.signal_external_workflow_execution_initiated_event_attributes.signal_name)
        elif e.HasField("workflow_execution_signaled_event_attributes"):
            received.append(e.workflow_execution_signaled_event_attributes.signal_name)
        elif e.HasField("marker_recorded_event_attributes"):
            data = e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
            patches.append(json.loads(data)["id"])
    return sent, received, patches


def test_the_stored_watchers_show_both_shapes() -> None:
    # Before the patches: every event forwarded (created's run missed none: the severity
    # change, the status change, the resolution), and an unwatch after the match.
    assert _shape("incident-watcher") == (["watch", "unwatch"], ["incident_event"] * 3, [])
    assert _shape("incident-lifecycle-1")[0] == ["incident_event"] * 3
    # After: only the resolution, and the incident's workflow forgets the run itself.
    assert _shape("incident-watcher-once") == (["watch"], ["incident_event"], [WATCH_ONCE])
    # And a poll's hint for the version the webhook brought, skipped (sync-seen).
    assert _shape("incident-batched-1") == (
        ["incident_event"],
        ["hint", "watch", "hint", "hint", "hint"],
        [WATCH_BATCH, SYNC_SEEN],
    )


def test_the_stored_incident_write_reports_its_write_before_and_after() -> None:
    # Its plan's step carries incident_write (read by test_plan's check of every stored plan).
    sent, _, patches = _shape("incident-write")
    assert sent == ["own_write", "own_write"]  # intent, then done
    assert OWN_WRITES_PATCH in patches
