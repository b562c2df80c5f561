"""Records the histories that test_replay.py replays: run after a deliberate, patched change.

``python -m tests.workflows.record_histories [interpreter] [incident] [inline] [sync] [<case>]``
records the named groups (all of them without arguments), or one interpreter case of
``CASES`` by name: record a new case alone so the histories of older shapes stay as they were
recorded. The fakes return made-up data only, so the
stored JSON holds no credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.debug import echo
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE, sync_workflow_id
from contracts.incident import Hint, IncidentWorkflowInput, PollInput, PollResult
from contracts.runs import InterpretInput
from contracts.sync import SyncInput
from interpreter.compiler import compile_text
from stack import devserver
from tests.waiting import eventually
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow
from workflows.sync import WorkspaceSyncWorkflow

from . import test_incident as incident
from .helpers import CATALOGUE, FAKE_ACTIVITIES, timeline_add_event
from .test_replay import CASES, HISTORIES, HISTORIES_STORED, INCIDENT, INLINE, OWN_WRITES

INCIDENT_ID = INCIDENT.removeprefix("incident-acme-")
INLINE_ID = INLINE.removeprefix("incident-acme-")


def _trigger(extra: dict[str, Any]) -> dict[str, Any]:
    return {"incident_io": {"incident_id": "01REPLAY", "title": "Replay me", **extra}}


async def _store(client: Client, name: str, workflow_id: str, run_id: str | None = None) -> None:
    assert name in HISTORIES_STORED, f"add {name} to HISTORIES_STORED in test_replay.py"
    assert HISTORIES_STORED[name].workflow_id == workflow_id, f"{name} is stored under another id"
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    path = HISTORIES / f"{name}.json"
    path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")


async def record_interpreter(names: list[str] | None = None) -> None:
    async with await devserver.start_time_skipping(data_converter=pydantic_data_converter) as env:
        queue = f"record-{uuid.uuid4().hex[:6]}"
        async with (
            Worker(
                env.client,
                task_queue=queue,
                workflows=[InterpreterWorkflow],
                activities=[echo, *FAKE_ACTIVITIES],
            ),
            Worker(
                env.client,
                task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
                activities=[timeline_add_event],
            ),
        ):
            for name in names or list(CASES):
                text, file, extra = CASES[name]
                plan = compile_text(text, file=file, catalogue=CATALOGUE)
                trigger = _trigger(extra)
                own = OWN_WRITES.get(name)
                params = InterpretInput(
                    plan=plan,
                    trigger=trigger,
                    set_search_attributes=False,
                    incident_id=trigger["incident_io"]["incident_id"] if own else None,
                    incident_workflow_id=own,
                )
                handle = await env.client.start_workflow(
                    InterpreterWorkflow.run, params, id=f"replay-{name}", task_queue=queue
                )
                with contextlib.suppress(WorkflowFailureError):
                    await handle.result()
                await _store(env.client, name, handle.id)


async def record_incident() -> None:
    """Created (starts a watching run), updated, continue-as-new, resolved.

    Stored as ``incident-batched-*`` and ``incident-watcher-once`` (the shape of the
    ``watch-batch``, ``watch-once`` and ``sync-seen`` patches, with a poll's hint for a
    version already seen); ``incident-lifecycle-*`` and ``incident-watcher`` are the story
    recorded before those patches, and stay.

    The dev server, not the time-skipping one: continue-as-new needs the history length.
    """
    incident.DEFINITIONS.clear()
    incident.DEFINITIONS.update(
        {"watch": (incident.WATCH, True), "on-update": (incident.ON_UPDATE, True)}
    )
    incident.INCIDENTS[INCIDENT_ID] = incident.snapshot(INCIDENT_ID)
    async with await devserver.start_local(data_converter=pydantic_data_converter) as env:
        client, queue = env.client, f"record-{uuid.uuid4().hex[:6]}"
        async with (
            Worker(
                client,
                task_queue=queue,
                workflows=[IncidentWorkflow, InterpreterWorkflow],
                activities=[echo, *incident.FAKE_DEFINITIONS],
            ),
            Worker(
                client,
                task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
                activities=[incident.fake_snapshot],
            ),
        ):
            handle = await client.start_workflow(
                IncidentWorkflow.run,
                IncidentWorkflowInput(workspace="acme", incident_id=INCIDENT_ID, history_limit=60),
                id=INCIDENT,
                task_queue=queue,
                start_signal="hint",
                start_signal_args=[Hint(source="webhook", webhook_id="msg_1")],
            )
            report = await incident.settle(handle, 1)
            watcher = report.events[0].decisions[0].workflow_id
            assert watcher is not None

            async def watching() -> bool | None:
                return bool((await handle.query(IncidentWorkflow.explain)).watchers) or None

            await eventually(watching, message="the run never started watching")
            incident.INCIDENTS[INCIDENT_ID] = incident.snapshot(
                INCIDENT_ID, fields={"severity": "SEV-1", "severity_name": "Critical"}
            )
            await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_2"))
            await incident.settle(handle, 2)
            # A poll that lists the version the webhook brought: nothing is fetched for it.
            seen = Hint(source="sync", updated_at=incident.NOW)
            await handle.signal(IncidentWorkflow.hint, seen)
            await eventually(
                lambda: _has_marker(client, handle.id, "sync-seen"),
                message="the poll's hint was not skipped",
            )
            incident.INCIDENTS[INCIDENT_ID] = incident.snapshot(
                INCIDENT_ID,
                fields={
                    "severity": "SEV-1",
                    "severity_name": "Critical",
                    "status": "Closed",
                    "status_category": "closed",
                    "updated_at": incident.LATER,
                },
            )
            await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
            await client.get_workflow_handle(watcher).result()
            await incident.settle(handle, 4)
            runs = await _runs(client, handle.id, handle.result_run_id)
            assert len(runs) == 2, f"expected one continue-as-new, got runs {runs}"
            await client.get_workflow_handle(handle.id).terminate(reason="recorded")
            for n, run_id in enumerate(runs, start=1):
                await _store(client, f"incident-batched-{n}", handle.id, run_id)
            await _store(client, "incident-watcher-once", watcher)


async def _has_marker(client: Client, workflow_id: str, patch: str) -> bool | None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    found = any(
        e.HasField("marker_recorded_event_attributes")
        and patch.encode()
        in e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
        for e in history.events
    )
    return found or None


async def record_inline() -> None:
    """The shape of ``inline-runs`` and ``batch-lookup``: created (one definition inline, one
    that waits as a child run), an update (inline again), resolved (forwarded to the child)."""
    incident.DEFINITIONS.clear()
    incident.DEFINITIONS.update(
        {
            "route": (incident.ROUTE, True),
            "watch": (incident.WATCH, True),
            "on-update": (incident.ON_UPDATE, True),
        }
    )
    incident.INCIDENTS[INLINE_ID] = incident.snapshot(INLINE_ID)
    async with await devserver.start_time_skipping(data_converter=pydantic_data_converter) as env:
        client, queue = env.client, f"record-{uuid.uuid4().hex[:6]}"
        async with (
            Worker(
                client,
                task_queue=queue,
                workflows=[IncidentWorkflow, InterpreterWorkflow],
                activities=[echo, *incident.FAKE_DEFINITIONS],
            ),
            Worker(
                client,
                task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
                activities=[incident.fake_snapshot],
            ),
        ):
            handle = await client.start_workflow(
                IncidentWorkflow.run,
                IncidentWorkflowInput(workspace="acme", incident_id=INLINE_ID),
                id=INLINE,
                task_queue=queue,
                start_signal="hint",
                start_signal_args=[Hint(source="webhook", webhook_id="msg_1")],
            )
            report = await incident.settle(handle, 1)
            watcher = next(d for d in report.events[0].decisions if d.definition == "watch")
            assert watcher.workflow_id is not None and not watcher.inline

            async def watching() -> bool | None:
                return bool((await handle.query(IncidentWorkflow.explain)).watchers) or None

            await eventually(watching, message="the run never started watching")
            incident.INCIDENTS[INLINE_ID] = incident.snapshot(
                INLINE_ID, fields={"severity": "SEV-1", "severity_name": "Critical"}
            )
            await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_2"))
            await incident.settle(handle, 2)
            incident.INCIDENTS[INLINE_ID] = incident.snapshot(
                INLINE_ID,
                fields={
                    "severity": "SEV-1",
                    "severity_name": "Critical",
                    "status": "Closed",
                    "status_category": "closed",
                    "updated_at": incident.LATER,
                },
            )
            await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
            await client.get_workflow_handle(watcher.workflow_id).result()

            async def runs_ended() -> bool | None:
                report = await handle.query(IncidentWorkflow.explain)
                inline = [d for e in report.events for d in e.decisions if d.inline]
                return (len(report.events) >= 4 and all(d.run for d in inline)) or None

            await eventually(runs_ended, message="the inline runs never ended")
            await handle.terminate(reason="recorded")
            await _store(client, "incident-inline", handle.id)


async def _runs(client: Client, workflow_id: str, first: str | None) -> list[str]:
    """The run ids of a continue-as-new chain, oldest first."""
    runs, run_id = [], first
    while run_id is not None:
        runs.append(run_id)
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        last = history.events[-1]
        continued = last.workflow_execution_continued_as_new_event_attributes
        run_id = continued.new_execution_run_id or None
    return runs


POLLS: list[PollInput] = []


@activity.defn(name="incident_io.sync.poll")
async def fake_poll(params: PollInput) -> PollResult:
    POLLS.append(params)
    if len(POLLS) == 2:
        raise ApplicationError(
            "incident.io refused the API key", type="AuthenticationError", non_retryable=True
        )
    return PollResult(
        cursor=f"2026-11-26T10:0{len(POLLS)}:00Z", hinted=len(POLLS), seen=[f"01INC@{len(POLLS)}"]
    )


async def record_sync() -> None:
    """Three polls, woken by ``poll_now``: one hints, one fails, one recovers."""
    async with await devserver.start_time_skipping(data_converter=pydantic_data_converter) as env:
        client, queue = env.client, f"record-{uuid.uuid4().hex[:6]}"
        async with (
            Worker(client, task_queue=queue, workflows=[WorkspaceSyncWorkflow]),
            Worker(client, task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE, activities=[fake_poll]),
        ):
            handle = await client.start_workflow(
                WorkspaceSyncWorkflow.run,
                SyncInput(workspace="acme", interval=3600, connected_at="2026-11-26T10:00:00Z"),
                id=sync_workflow_id("acme"),
                task_queue=queue,
            )
            for polls in (1, 2, 3):

                async def polled(polls: int = polls) -> bool | None:
                    status = await handle.query(WorkspaceSyncWorkflow.status)
                    return (status is not None and status.polls >= polls) or None

                await eventually(polled, message=f"the sync never made poll {polls}")
                if polls < 3:
                    await handle.signal(WorkspaceSyncWorkflow.poll_now)
            status = await handle.query(WorkspaceSyncWorkflow.status)
            assert status is not None and status.last_error is None, status
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate(reason="recorded")
            await _store(client, "workspace-sync", handle.id)


GROUPS = {
    "interpreter": record_interpreter,
    "incident": record_incident,
    "inline": record_inline,
    "sync": record_sync,
}


async def record(names: list[str]) -> None:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    for name in names or list(GROUPS):
        if name in CASES:
            await record_interpreter([name])
        else:
            await GROUPS[name]()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
