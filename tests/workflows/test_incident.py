"""The per-incident workflow with fake incident.io and definition activities (time-skipping)."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import temporal_client
from activities.debug import echo
from contracts.events import IncidentSnapshot, TimelineEntry, tracked_values
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.incident import (
    CandidatesInput,
    DefinitionCandidate,
    Hint,
    IncidentWorkflowInput,
    LookupInput,
    LookupResult,
    SnapshotInput,
    SnapshotResult,
    WatchRequest,
)
from contracts.runs import InterpretInput, RunResult
from interpreter.compiler import compile_text
from tests.runs import run_result
from tests.waiting import eventually
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow

from .helpers import CATALOGUE

pytestmark = pytest.mark.asyncio

NOW = datetime.now(UTC).isoformat()
LATER = (datetime.now(UTC) + timedelta(minutes=42)).isoformat()


@pytest_asyncio.fixture(autouse=True)
async def server_clock(time_env: WorkflowEnvironment) -> None:
    """Incident timestamps follow the server's clock, which earlier tests skip far ahead."""
    global NOW, LATER
    now = await time_env.get_current_time()
    NOW, LATER = now.isoformat(), (now + timedelta(minutes=42)).isoformat()


INCIDENTS: dict[str, IncidentSnapshot] = {}
DEFINITIONS: dict[str, tuple[str, bool]] = {}
FETCHES: Counter[str] = Counter()

ROUTE = """name: route
trigger:
  type: trigger.incident_io.incident.created
  filter: "{{ $trigger.incident_io.team != 'Ignored' }}"
steps:
  - id: page
    type: debug.echo
    inputs:
      text: "{{ $trigger.incident_io.severity }}: {{ $trigger.incident_io.title }}"
"""
ON_UPDATE = """name: on-update
trigger:
  type: trigger.incident_io.incident.updated
steps:
  - id: note
    type: debug.echo
    inputs:
      change: "{{ $trigger.incident_io.field }}: {{ $trigger.incident_io.old_value }} -> {{ $trigger.incident_io.new_value }}"
"""
WATCH = """name: watch
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: until_resolved
    type: incident_io.incident.wait_for
    inputs:
      event: resolved
      timeout: 2h
    onTimeout: [gave_up]
  - id: gave_up
    type: debug.echo
    inputs: {text: "no resolution"}
  - id: all_clear
    type: debug.echo
    inputs:
      text: "All clear after {{ default($steps.until_resolved.payload.resolution_time, '?') }}s"
"""


def snapshot(incident_id: str, **changes: Any) -> IncidentSnapshot:
    fields = {
        "incident_id": incident_id,
        "reference": "INC-9",
        "title": "Checkout down",
        "summary": None,
        "severity": "SEV-2",
        "severity_name": "Major",
        "status": "Investigating",
        "status_category": "live",
        "team": "Payments",
        "incident_type": None,
        "created_at": NOW,
        "updated_at": NOW,
        "custom_fields": {},
    } | changes.pop("fields", {})
    entries = changes.pop("entries", [])
    return IncidentSnapshot(
        fields=fields, tracked=tracked_values(fields, roles={}), entries=entries
    )


@activity.defn(name="incident_io.sync.snapshot")
async def fake_snapshot(params: SnapshotInput) -> SnapshotResult:
    FETCHES[params.incident_id] += 1
    if params.incident_id not in INCIDENTS:
        return SnapshotResult(missing="Incident not found: confirm the incident ID")
    return SnapshotResult(snapshot=INCIDENTS[params.incident_id])


@activity.defn(name="definitions.candidates")
async def fake_candidates(params: CandidatesInput) -> list[DefinitionCandidate]:
    found = []
    for name, (text, enabled) in DEFINITIONS.items():
        plan = compile_text(text, file=f"{name}.yaml", catalogue=CATALOGUE, version=3)
        found.append(
            DefinitionCandidate(
                name=name,
                version=3,
                enabled=enabled,
                trigger_type=plan.trigger_type,
                plan=plan if plan.trigger_type == params.trigger_type else None,
            )
        )
    return found


@activity.defn(name="definitions.lookup")
async def fake_lookup(params: LookupInput) -> LookupResult:
    found = []
    for name, (text, enabled) in DEFINITIONS.items():
        plan = compile_text(text, file=f"{name}.yaml", catalogue=CATALOGUE, version=3)
        found.append(
            DefinitionCandidate(
                name=name,
                version=3,
                enabled=enabled,
                trigger_type=plan.trigger_type,
                plan=plan if enabled and plan.trigger_type in params.trigger_types else None,
            )
        )
    return LookupResult(candidates=found)


FAKE_DEFINITIONS = [fake_candidates, fake_lookup]
"""The per-event look-up of runs recorded before the batch look-up, and the batch look-up."""


@contextlib.asynccontextmanager
async def worker(
    env: WorkflowEnvironment, queue: str, *, extra: Sequence[Callable[..., Any]] = ()
) -> AsyncIterator[None]:
    """Workflows on the test's queue (with ``extra`` activities beside the echo node);
    incident.io activities on their own rate-limited queue."""
    async with (
        Worker(
            env.client,
            task_queue=queue,
            workflows=[IncidentWorkflow, InterpreterWorkflow],
            activities=[echo, *extra, *FAKE_DEFINITIONS],
        ),
        Worker(env.client, task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE, activities=[fake_snapshot]),
    ):
        try:
            yield
        finally:
            await terminate_leftovers(env)


STARTED: list[str] = []


async def terminate_leftovers(env: WorkflowEnvironment) -> None:
    """Ends the workflows a test left waiting, so no later test's timers are held up."""
    while STARTED:
        handle = env.client.get_workflow_handle_for(IncidentWorkflow.run, STARTED.pop())
        report = await handle.query(IncidentWorkflow.explain)
        ids = [
            d.workflow_id
            for e in report.events
            for d in e.decisions
            if d.workflow_id and not d.inline
        ]
        for workflow_id in [*ids, handle.id]:
            run = env.client.get_workflow_handle(workflow_id)
            if (await run.describe()).status == WorkflowExecutionStatus.RUNNING:
                await terminate_unless_completed(run)


async def terminate_unless_completed(run: WorkflowHandle[Any, Any]) -> None:
    """Terminates ``run``; one that completed meanwhile (after a ``describe()`` said running)
    is fine, but nothing else is: the server answers that race with NOT_FOUND, and so it
    does for an id that never existed, so the run must be found, and no longer running."""
    try:
        await run.terminate(reason="end of test")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        if (await run.describe()).status == WorkflowExecutionStatus.RUNNING:
            raise


async def start(
    env: WorkflowEnvironment, queue: str, incident_id: str, **kwargs: Any
) -> WorkflowHandle[Any, Any]:
    STARTED.append(f"incident-acme-{incident_id}")
    return await env.client.start_workflow(
        IncidentWorkflow.run,
        IncidentWorkflowInput(workspace="acme", incident_id=incident_id, **kwargs),
        id=f"incident-acme-{incident_id}",
        task_queue=queue,
        start_signal="hint",
        start_signal_args=[Hint(source="webhook", webhook_id="msg_1")],
    )


async def settle(handle: WorkflowHandle[Any, Any], count: int) -> Any:
    """Waits until the workflow has handled ``count`` events (its state is only queryable)."""
    seen: list[Any] = [None]

    async def handled() -> Any:
        report = seen[0] = await handle.query(IncidentWorkflow.explain)
        if len(report.events) >= count and all(e.decisions for e in report.events):
            return report
        return None

    return await eventually(
        handled, message=lambda: f"the incident workflow did not handle the events: {seen[0]}"
    )


# What a workflow task may leave behind that waits on nothing the workflow is owed.
IDLE_COMMANDS = frozenset(
    {
        EventType.EVENT_TYPE_MARKER_RECORDED,
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    }
)


async def quiet(handle: WorkflowHandle[Any, Any]) -> Any:
    """Waits until the workflow has handled every signal sent so far and all they caused,
    and returns its explain report then.

    Every signal the server accepted is in the history; the workflow has seen it once a
    later workflow task completed, and is done with it once that task left nothing running
    (no activity, child or signal to wait for, only a timer or a marker).
    """

    async def idle() -> Any:
        events = (await handle.fetch_history()).events
        last = max(
            i
            for i, e in enumerate(events)
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        if all(e.event_type in IDLE_COMMANDS for e in events[last + 1 :]):
            return await handle.query(IncidentWorkflow.explain)
        return None

    return await eventually(idle, message="the incident workflow never went idle")


def incident_id() -> str:
    return f"01INC{uuid.uuid4().hex[:8].upper()}"


async def test_created_starts_matching_definitions_and_explains_the_rest(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update(
        {
            "route": (ROUTE, True),
            "on-update": (ON_UPDATE, True),
            "off": (ROUTE.replace("name: route", "name: off"), False),
        }
    )
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        event = report.events[0]
        assert (event.kind, event.trigger_type) == (
            "created",
            "trigger.incident_io.incident.created",
        )
        decisions = {d.definition: d for d in event.decisions}
        assert decisions["route"].outcome == "started"
        assert decisions["route"].reason == "trigger matched and its filter held"
        assert decisions["on-update"].outcome == "skipped"
        assert decisions["on-update"].reason == (
            "its trigger is trigger.incident_io.incident.updated, "
            "the event is trigger.incident_io.incident.created"
        )
        assert decisions["off"].reason == "it is disabled"
        assert decisions["route"].inline  # no step waits: it runs inside the incident's workflow
        result = await run_result(time_env.client, handle.id, decisions["route"])
        assert result.steps[0].output == {"text": "SEV-2: Checkout down"}
        assert report.reference == "INC-9" and report.severity == "SEV-2"


async def test_duplicates_and_no_op_hints_fire_nothing(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"route": (ROUTE, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        await settle(handle, 1)
        await handle.signal(
            IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_1")
        )  # redelivery
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))  # nothing changed
        await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_2"))
        report = await quiet(handle)
        assert len(report.events) == 1
        assert FETCHES[iid] <= 3  # the redelivery never caused a fetch


async def test_each_changed_field_is_one_event_and_resolution_fires_resolved(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"on-update": (ON_UPDATE, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        await settle(handle, 1)
        INCIDENTS[iid] = snapshot(
            iid,
            fields={
                "severity": "SEV-1",
                "severity_name": "Critical",
                "summary": "DB failover",
                "custom_fields": {"Root Cause": "bad deploy"},
            },
            entries=[
                TimelineEntry(
                    id="u1",
                    kind="incident_update",
                    at=LATER,  # after the incident was first seen
                    message="Investigating",
                )
            ],
        )
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
        report = await settle(handle, 5)
        changes = [(e.kind, e.field) for e in report.events]
        assert changes == [
            ("created", None),
            ("updated", "custom_fields.Root Cause"),
            ("updated", "severity"),
            ("updated", "summary"),
            ("updated", "timeline"),
        ]
        severity = report.events[2]
        result = await run_result(time_env.client, handle.id, severity.decisions[0])
        assert result.steps[0].output == {"change": "severity: SEV-2 -> SEV-1"}
        INCIDENTS[iid] = snapshot(
            iid,
            fields={
                "severity": "SEV-1",
                "severity_name": "Critical",
                "summary": "DB failover",
                "status": "Closed",
                "status_category": "closed",
                "updated_at": "2026-11-26T11:30:00Z",
                "custom_fields": {"Root Cause": "bad deploy"},
            },
            entries=[
                TimelineEntry(
                    id="u1",
                    kind="incident_update",
                    at=LATER,
                    message="Investigating",
                )
            ],
        )
        await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_9"))
        report = await settle(handle, 7)
        assert [(e.kind, e.field) for e in report.events[5:]] == [
            ("updated", "status"),
            ("resolved", None),
        ]
        # an out-of-order, older webhook afterwards changes nothing: the incident is fetched afresh
        await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_3"))
        report = await quiet(handle)
        assert len(report.events) == 7


async def test_wait_for_wakes_on_resolution_and_posts_the_all_clear(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"watch": (WATCH, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        child = time_env.client.get_workflow_handle_for(
            InterpreterWorkflow.run, report.events[0].decisions[0].workflow_id
        )

        async def watched() -> list[WatchRequest] | None:
            return (await handle.query(IncidentWorkflow.explain)).watchers or None

        await eventually(watched, message="the run never asked to watch the incident")
        assert (await temporal_client.run_state(time_env.client, child.id)).status == "running"
        INCIDENTS[iid] = snapshot(
            iid,
            fields={
                "status": "Documenting",
                "status_category": "learning",
                "updated_at": LATER,
            },
        )
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
        result: RunResult = await child.result()
        steps = {s.id: s for s in result.steps}
        assert steps["until_resolved"].output["event"] == "resolved"
        assert steps["gave_up"].status == "skipped"
        assert steps["all_clear"].output == {"text": "All clear after 2520s"}
        assert (await handle.query(IncidentWorkflow.explain)).watchers == []


async def test_a_sync_hint_for_a_version_already_seen_fetches_nothing(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"on-update": (ON_UPDATE, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        await settle(handle, 1)
        assert FETCHES[iid] == 1
        # The poll lists the version the webhook brought: nothing to fetch.
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync", updated_at=NOW))
        INCIDENTS[iid] = snapshot(iid, fields={"summary": "DB failover", "updated_at": LATER})
        # A newer version (a webhook that never came) is fetched, and its change announced.
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync", updated_at=LATER))
        report = await settle(handle, 2)
        assert [(e.kind, e.field) for e in report.events] == [
            ("created", None),
            ("updated", "summary"),
        ]
        assert FETCHES[iid] == 2


async def _signals(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The names of the signals a workflow received, in order."""
    history = await handle.fetch_history()
    return [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]


async def test_a_watcher_is_signalled_only_for_the_event_it_waits_for(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"watch": (WATCH, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        child = time_env.client.get_workflow_handle_for(
            InterpreterWorkflow.run, report.events[0].decisions[0].workflow_id
        )

        async def watching() -> bool | None:
            return bool((await handle.query(IncidentWorkflow.explain)).watchers) or None

        await eventually(watching, message="the run never started watching")
        INCIDENTS[iid] = snapshot(iid, fields={"summary": "DB failover", "severity": "SEV-1"})
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
        await settle(handle, 3)  # two updates the run does not wait for
        INCIDENTS[iid] = snapshot(
            iid,
            fields={
                "summary": "DB failover",
                "severity": "SEV-1",
                "status": "Documenting",
                "status_category": "learning",
                "updated_at": LATER,
            },
        )
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
        result: RunResult = await child.result()
        assert {s.id: s for s in result.steps}["until_resolved"].output["event"] == "resolved"
        # Three updates and the resolution: only the resolution reached the waiting run, and
        # the incident's workflow forgot it then, without an unwatch from the run.
        assert await _signals(child) == ["incident_event"]
        assert (await handle.query(IncidentWorkflow.explain)).watchers == []
        assert "unwatch" not in await _signals(handle)


async def test_a_late_watcher_gets_the_missed_event_it_waits_for_and_only_that(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"watch": (WATCH, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        run_id = report.events[0].decisions[0].workflow_id
        assert run_id is not None
        INCIDENTS[iid] = snapshot(iid, fields={"summary": "DB failover", "severity": "SEV-1"})
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
        await settle(handle, 3)
        # A second wait on the same run, asked after both updates happened: it is sent the
        # severity change it missed, not the summary change, and is forgotten then.
        late = WatchRequest(workflow_id=run_id, step_id="late", event="updated", field="severity")
        await handle.signal(IncidentWorkflow.watch, late)
        child = time_env.client.get_workflow_handle(run_id)

        async def forwarded() -> list[str] | None:
            return await _signals(child) or None

        assert await eventually(forwarded) == ["incident_event"]
        report = await handle.query(IncidentWorkflow.explain)
        assert [w.step_id for w in report.watchers] == ["until_resolved"]


async def test_wait_for_times_out_into_its_branch(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"watch": (WATCH, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        child = time_env.client.get_workflow_handle_for(
            InterpreterWorkflow.run, report.events[0].decisions[0].workflow_id
        )
        await time_env.sleep(timedelta(hours=3))
        result: RunResult = await child.result()
        steps = {s.id: s for s in result.steps}
        assert steps["until_resolved"].output["branch"] == "onTimeout"
        assert steps["gave_up"].output == {"text": "no resolution"}
        assert steps["all_clear"].output == {"text": "All clear after ?s"}


async def test_baseline_incident_announces_no_creation_and_state_survives_continue_as_new(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    time_env = dev_env  # the dev server reports history length; continue-as-new needs it
    DEFINITIONS.clear()
    DEFINITIONS.update({"route": (ROUTE, True), "on-update": (ON_UPDATE, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid, announce_creation=False, history_limit=10)

        async def baseline_taken() -> str | None:
            return (await handle.query(IncidentWorkflow.explain)).last_fetch_at

        await eventually(baseline_taken, message="the incident was never fetched")
        for n in range(1, 4):
            INCIDENTS[iid] = snapshot(iid, fields={"summary": f"step {n}"})
            await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
            report = await settle(handle, n)
        assert [(e.seq, e.kind, e.field) for e in report.events] == [
            (1, "updated", "summary"),
            (2, "updated", "summary"),
            (3, "updated", "summary"),
        ]
        latest = await time_env.client.get_workflow_handle(handle.id).describe()
        assert latest.run_id != handle.result_run_id  # it continued as new, carrying its state


async def test_leftovers_that_completed_meanwhile_are_not_an_error(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    plan = compile_text(ROUTE, file="route.yaml", catalogue=CATALOGUE)
    params = InterpretInput(plan=plan, trigger={"incident_io": snapshot("01DONE").fields})
    async with worker(time_env, task_queue):
        run = await time_env.client.start_workflow(
            InterpreterWorkflow.run,
            params,
            id=f"done-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        await run.result()
        await terminate_unless_completed(run)  # the server answers NOT_FOUND: tolerated
        assert (await run.describe()).status == WorkflowExecutionStatus.COMPLETED
        never = time_env.client.get_workflow_handle(f"never-{uuid.uuid4().hex[:8]}")
        with pytest.raises(RPCError) as raised:
            await terminate_unless_completed(never)  # NOT_FOUND too, but no run completed
        assert raised.value.status == RPCStatusCode.NOT_FOUND
