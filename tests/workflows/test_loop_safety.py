"""A definition never triggers itself: own changes are recognised, and a breaker bounds runs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.debug import echo
from contracts.events import TimelineEntry
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.incident import ExplainReport, Hint, OwnWrite
from interpreter.plan import NodeCall
from stack.explain import render
from tests.e2e.test_incident_flow import eventually
from workflows.incident import OWN_WRITE_GRACE, IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow

from .test_incident import (
    DEFINITIONS,
    FAKE_DEFINITIONS,
    FETCHES,
    INCIDENTS,
    fake_snapshot,
    incident_id,
    server_clock,  # noqa: F401 (autouse: incident timestamps follow the server clock)
    snapshot,
    start,
    terminate_leftovers,
)

pytestmark = pytest.mark.asyncio

NOTE_CHANGES = """name: note-changes
trigger:
  type: trigger.incident_io.incident.updated
{extra}steps:
  - id: note
    type: incident_io.timeline.add_event
    inputs:
      incidentId: "{{{{ $trigger.incident_io.incident_id }}}}"
      eventType: custom
      title: "Changed: {{{{ $trigger.incident_io.field }}}}"
"""

WRITTEN: list[NodeCall] = []


@activity.defn(name="incident_io.timeline.add_event")
async def fake_add_event(call: NodeCall) -> dict[str, Any]:
    """Adds the item to the fake incident, as incident.io would, and returns its id."""
    WRITTEN.append(call)
    iid = call.inputs["incidentId"]
    item_id = f"tl-{len(WRITTEN)}"
    current = INCIDENTS[iid]
    # stamped when written, as incident.io does: after the incident was first seen
    at = activity.info().current_attempt_scheduled_time.isoformat()
    entry = TimelineEntry(id=item_id, kind="timeline_item", at=at)
    INCIDENTS[iid] = current.model_copy(update={"entries": [*current.entries, entry]})
    return {"id": item_id, "incidentId": iid, "title": call.inputs["title"], "timestamp": "t"}


@contextlib.asynccontextmanager
async def worker(env: WorkflowEnvironment, queue: str) -> AsyncIterator[None]:
    async with (
        Worker(
            env.client,
            task_queue=queue,
            workflows=[IncidentWorkflow, InterpreterWorkflow],
            activities=[echo, *FAKE_DEFINITIONS],
        ),
        Worker(
            env.client,
            task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
            activities=[fake_snapshot, fake_add_event],
        ),
    ):
        try:
            yield
        finally:
            await terminate_leftovers(env)


async def quiet(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], *, events: int = 0
) -> ExplainReport:
    """The report once ``events`` events are there, every one decided, every run ended."""

    async def settled() -> ExplainReport | None:
        report = await handle.query(IncidentWorkflow.explain)
        if len(report.events) < events or not all(e.decisions for e in report.events):
            return None
        for d in (d for e in report.events for d in e.decisions if d.workflow_id):
            if d.inline:
                if d.run is None:
                    return None
                continue
            run = env.client.get_workflow_handle(d.workflow_id)
            if (await run.describe()).status == WorkflowExecutionStatus.RUNNING:
                return None
        return report

    return await eventually(settled)


async def hint_and_settle(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], iid: str, n: int
) -> ExplainReport:
    """One more webhook (as incident.io sends after each change), then the settled report."""
    fetched = FETCHES[iid]
    before = (await handle.query(IncidentWorkflow.explain)).last_fetch_at
    await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id=f"msg_x{n}"))

    async def fetched_again() -> bool | None:
        # the events of a fetch are recorded in the workflow task that records the fetch
        report = await handle.query(IncidentWorkflow.explain)
        return True if FETCHES[iid] > fetched and report.last_fetch_at != before else None

    await eventually(fetched_again)
    return await quiet(env, handle)


def runs_of(report: ExplainReport, name: str) -> list[str]:
    return [
        d.workflow_id
        for e in report.events
        for d in e.decisions
        if d.definition == name and d.outcome == "started" and d.workflow_id
    ]


async def change_severity_then_echo(
    env: WorkflowEnvironment, queue: str, definition: str, rounds: int
) -> tuple[str, ExplainReport]:
    """A severity change, then ``rounds`` more hints: each one what a write's webhook does."""
    DEFINITIONS.clear()
    DEFINITIONS.update({"note-changes": (definition, True)})
    WRITTEN.clear()
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    handle = await start(env, queue, iid)
    await quiet(env, handle, events=1)
    INCIDENTS[iid] = snapshot(iid, fields={"severity": "SEV-1"})
    report = await hint_and_settle(env, handle, iid, 0)
    for n in range(1, rounds + 1):
        report = await hint_and_settle(env, handle, iid, n)
    return iid, report


async def test_a_definition_on_updated_does_not_run_on_its_own_timeline_item(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with worker(time_env, task_queue):
        _, report = await change_severity_then_echo(
            time_env, task_queue, NOTE_CHANGES.format(extra=""), rounds=3
        )
    runs = runs_of(report, "note-changes")
    assert len(runs) == 1, render(report)
    assert len(WRITTEN) == 1
    echo_event = next(e for e in report.events if e.field == "timeline")
    assert echo_event.caused_by == f"run {runs[0]} (step 'note')"
    (decision,) = echo_event.decisions
    assert decision.outcome == "skipped"
    assert "includeOwnChanges" in decision.reason
    assert f"caused by run {runs[0]} (step 'note')" in render(report)


async def test_the_breaker_stops_an_opted_in_loop_and_says_so_once(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    definition = NOTE_CHANGES.format(extra="  includeOwnChanges: true\n  maxRunsPerHour: 3\n")
    async with worker(time_env, task_queue):
        iid, report = await change_severity_then_echo(time_env, task_queue, definition, rounds=6)
    assert len(runs_of(report, "note-changes")) == 3
    breaker_notes = [c for c in WRITTEN if c.context.step_id.startswith("loop-breaker.")]
    assert len(breaker_notes) == 1
    assert breaker_notes[0].inputs["incidentId"] == iid
    refused = [d for e in report.events for d in e.decisions if d.reason.startswith("loop breaker")]
    assert refused and all(d.outcome == "skipped" for d in refused)
    assert "trigger.maxRunsPerHour: 3" in refused[0].reason
    # the breaker's own timeline item is recognised too, and starts nothing
    breaker_event = report.events[-1]
    assert breaker_event.caused_by == "rensei's loop breaker"
    assert "loop breaker" in render(report)


async def test_a_write_that_never_reports_holds_events_only_for_the_grace_period(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"note-changes": (NOTE_CHANGES.format(extra=""), True)})
    WRITTEN.clear()
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        await quiet(time_env, handle, events=1)
        # a run announced a write and then went silent (terminated, say)
        silent = OwnWrite(workflow_id="run-gone", step_id="note", phase="intent")
        await handle.signal(IncidentWorkflow.own_write, silent)
        INCIDENTS[iid] = snapshot(iid, fields={"severity": "SEV-1"})
        await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_h"))

        async def held() -> bool | None:
            report = await handle.query(IncidentWorkflow.explain)
            return True if FETCHES[iid] >= 2 and report.severity == "SEV-1" else None

        await eventually(held)
        assert len((await handle.query(IncidentWorkflow.explain)).events) == 1
        await time_env.sleep(OWN_WRITE_GRACE.total_seconds() + 1)
        report = await quiet(time_env, handle, events=2)
    (decision,) = report.events[1].decisions
    assert (report.events[1].field, report.events[1].caused_by) == ("severity", None)
    assert decision.outcome == "started"


ESCALATE = """name: escalate
trigger:
  type: trigger.incident_io.incident.updated
  filter: "{{ $trigger.incident_io.field == 'status' }}"
steps:
  - id: raise_severity
    type: incident_io.incident.update
    inputs:
      incidentId: "{{ $trigger.incident_io.incident_id }}"
      severity: SEV-1
"""
WATCH_ALL = """name: watch-all
trigger:
  type: trigger.incident_io.incident.updated
steps:
  - id: seen
    type: debug.echo
    inputs: {field: "{{ $trigger.incident_io.field }}"}
"""
CLOCK: list[str] = []


@activity.defn(name="incident_io.incident.update")
async def fake_update(call: NodeCall) -> dict[str, Any]:
    """Sets the severity and, as incident.io does, records an incident update (no id back)."""
    iid = call.inputs["incidentId"]
    current = INCIDENTS[iid]
    fields = current.fields | {"severity": call.inputs["severity"]}
    entries = list(current.entries)
    if current.fields["severity"] != call.inputs["severity"]:
        entries.append(TimelineEntry(id=f"upd-{len(entries)}", kind="incident_update", at=CLOCK[0]))
    INCIDENTS[iid] = snapshot(iid, fields=fields, entries=entries)
    return {"id": iid, "severity": call.inputs["severity"]}


async def test_a_field_change_and_its_incident_update_are_known_as_own_changes(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"escalate": (ESCALATE, True), "watch-all": (WATCH_ALL, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with (
        Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=[IncidentWorkflow, InterpreterWorkflow],
            activities=[echo, *FAKE_DEFINITIONS],
        ),
        Worker(
            time_env.client,
            task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
            activities=[fake_snapshot, fake_update],
        ),
    ):
        try:
            handle = await start(time_env, task_queue, iid)
            await quiet(time_env, handle, events=1)
            CLOCK[:] = [(await time_env.get_current_time()).isoformat()]
            INCIDENTS[iid] = snapshot(iid, fields={"status": "Fixing"})
            await hint_and_settle(time_env, handle, iid, 1)
            await hint_and_settle(time_env, handle, iid, 2)
            # again, but the severity is SEV-1 already: this write's claims match nothing
            current = INCIDENTS[iid]
            INCIDENTS[iid] = snapshot(
                iid, fields=current.fields | {"status": "Monitoring"}, entries=current.entries
            )
            await hint_and_settle(time_env, handle, iid, 3)
            await hint_and_settle(time_env, handle, iid, 4)
            # a person's update much later is theirs, though that claim was never used up
            later = (await time_env.get_current_time()) + timedelta(minutes=30)
            person = TimelineEntry(id="upd-person", kind="incident_update", at=later.isoformat())
            current = INCIDENTS[iid]
            INCIDENTS[iid] = current.model_copy(update={"entries": [*current.entries, person]})
            report = await hint_and_settle(time_env, handle, iid, 5)
        finally:
            await terminate_leftovers(time_env)
    fields = [e.field for e in report.events]
    assert fields == [None, "status", "severity", "timeline", "status", "timeline"], render(report)
    _, status, severity, update, again, mine = report.events
    assert (status.caused_by, again.caused_by) == (None, None)
    assert sorted(d.outcome for d in status.decisions) == ["started", "started"]
    [escalation] = [d.workflow_id for d in status.decisions if d.definition == "escalate"]
    for echo_event in (severity, update):
        assert echo_event.caused_by == f"run {escalation} (step 'raise_severity')"
        assert {d.definition: d.outcome for d in echo_event.decisions}["watch-all"] == "skipped"
    assert (mine.field, mine.caused_by) == ("timeline", None)
    assert {d.definition: d.outcome for d in mine.decisions}["watch-all"] == "started", render(
        report
    )
