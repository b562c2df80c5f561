"""End to end on the dev server: incident.io simulator -> webhook or sync -> incident workflow ->
definitions -> severity routing -> resolution -> wait_for wakes -> all-clear."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

import worker
from activities.definitions import store_definition
from api.app import create_app
from contracts.ids import incident_workflow_id, sync_workflow_id
from contracts.incident import Decision, ExplainReport
from contracts.runs import RunResult
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as simulator_app
from simulators.incident_io.seed import SEVERITY_EMERGENCY, SEVERITY_MINOR, STATUS_DOCUMENTING
from simulators.server import serve
from store import Store
from temporal_client import start_sync, stop_sync
from tests.api.test_webhooks import SECRET
from tests.runs import run_result
from tests.waiting import eventually
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio
T = TypeVar("T")

ROUTE = """name: route
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: triage
    type: condition
    condition: "{{ $trigger.incident_io.severity }}"
    cases:
      - value: SEV-1
        steps: [page]
      - default: [ticket]
  - id: page
    type: debug.echo
    inputs: {text: "paging for {{ $trigger.incident_io.reference }}"}
  - id: ticket
    type: debug.echo
    inputs: {text: "ticket for {{ $trigger.incident_io.reference }}"}
"""
ALL_CLEAR = """name: all-clear
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: resolved
    type: incident_io.incident.wait_for
    inputs: {event: resolved, timeout: 1h}
  - id: announce
    type: incident_io.timeline.add_event
    inputs:
      incidentId: "{{ $trigger.incident_io.incident_id }}"
      eventType: custom
      title: All clear
      description: "Resolved in {{ $steps.resolved.payload.resolution_time }}s"
"""


@dataclass
class Stack:
    settings: Settings
    sim: SimulatorState
    sim_url: str
    api_url: str
    temporal: Client
    store: Store


@contextlib.asynccontextmanager
async def stack(env: WorkflowEnvironment, tmp: Path, *, webhooks: bool) -> AsyncIterator[Stack]:
    sim = SimulatorState(SimulatorConfig(seed_incidents=False, schedule_scale=0.001))
    async with serve(simulator_app(sim)) as sim_url:
        settings = Settings(
            data_dir=tmp / "data",
            task_queue=f"e2e-{uuid.uuid4().hex[:8]}",
            incident_io_base_url=sim_url,
            incident_io_token=SecretStr(SANDBOX_TOKEN),
            incident_io_webhook_secret=SecretStr(SECRET),
            admin_token=SecretStr("admin-token-for-e2e-tests-0123"),
            definitions_dir=tmp / "definitions",
            sync_interval=0.5,
        )
        store = Store.from_settings(settings)
        await store.migrate()
        await store_definition(store, "default", "route", ROUTE)
        await store_definition(store, "default", "all-clear", ALL_CLEAR)
        app = create_app(settings, store=store, client=env.client)
        async with serve(app) as api_url:
            if webhooks:
                sim.webhooks.configure(f"{api_url}/api/webhooks/ingest/incident-io", SECRET)
            async with contextlib.AsyncExitStack() as running:
                http = await running.enter_async_context(worker.http_client())
                workers = worker.build_workers(env.client, settings, store=store, http=http)
                for w in workers:
                    await running.enter_async_context(w)
                yield Stack(settings, sim, sim_url, api_url, env.client, store)
                await stop_sync(env.client, "default")
                await sim.webhooks.drain()
                await sim.webhooks.aclose()
        await store.close()


async def explain(temporal: Client, incident_id: str) -> ExplainReport:
    handle = temporal.get_workflow_handle_for(
        IncidentWorkflow.run, incident_workflow_id("default", incident_id)
    )
    return await handle.query(IncidentWorkflow.explain)


async def declare(s: Stack, severity_id: str) -> str:
    async with httpx.AsyncClient(base_url=s.sim_url) as http:
        response = await http.post(
            "/_sim/incidents", json={"name": "Checkout 500s", "severity_id": severity_id}
        )
        response.raise_for_status()
        return str(response.json()["incident"]["id"])


async def resolve(s: Stack, incident_id: str) -> None:
    async with httpx.AsyncClient(base_url=s.sim_url) as http:
        response = await http.post(
            f"/_sim/incidents/{incident_id}/status", json={"incident_status_id": STATUS_DOCUMENTING}
        )
        response.raise_for_status()


async def decision_of(
    s: Stack, incident_id: str, definition: str, kind: str = "created"
) -> Decision:
    """The decision that started ``definition`` for the first ``kind`` event."""

    async def started() -> Decision | None:
        try:
            report = await explain(s.temporal, incident_id)
        except Exception:  # the incident workflow has not started yet
            return None
        for event in report.events:
            for decision in event.decisions:
                if (
                    event.kind == kind
                    and decision.definition == definition
                    and decision.outcome == "started"
                ):
                    return decision
        return None

    return await eventually(started)


async def run_of(s: Stack, incident_id: str, definition: str, kind: str = "created") -> str:
    """The workflow id of the child run that ``definition`` started (a plan that waits)."""
    decision = await decision_of(s, incident_id, definition, kind)
    assert decision.workflow_id is not None and not decision.inline, decision
    return decision.workflow_id


async def result_of(
    s: Stack, incident_id: str, definition: str, kind: str = "created"
) -> RunResult:
    """The final result of the run ``definition`` started, inline or a child."""
    decision = await decision_of(s, incident_id, definition, kind)
    return await run_result(s.temporal, incident_workflow_id("default", incident_id), decision)


async def flow(s: Stack, *, severity_id: str, expected_branch: str) -> ExplainReport:
    incident_id = await declare(s, severity_id)
    routed = await result_of(s, incident_id, "route")
    statuses = {step.id: step.status for step in routed.steps}
    assert statuses[expected_branch] == "completed"
    assert statuses["ticket" if expected_branch == "page" else "page"] == "skipped"
    watch = s.temporal.get_workflow_handle_for(
        InterpreterWorkflow.run, await run_of(s, incident_id, "all-clear")
    )
    await eventually(lambda: _watching(s, incident_id))
    await resolve(s, incident_id)
    finished: RunResult = await watch.result()
    announce = next(step for step in finished.steps if step.id == "announce")
    assert announce.status == "completed"
    items = [t for t in s.sim.timeline if t.incident_id == incident_id]
    assert [t.title for t in items] == ["All clear"]
    assert items[0].description is not None and items[0].description.startswith("Resolved in ")
    return await explain(s.temporal, incident_id)


async def _watching(s: Stack, incident_id: str) -> bool | None:
    return True if (await explain(s.temporal, incident_id)).watchers else None


async def test_signed_webhooks_drive_a_definition_end_to_end(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with stack(dev_env, tmp_path, webhooks=True) as s:
        report = await flow(s, severity_id=SEVERITY_EMERGENCY, expected_branch="page")
        kinds = [(e.kind, e.field) for e in report.events]
        assert kinds[0] == ("created", None) and ("resolved", None) in kinds
        deliveries = s.sim.webhooks.deliveries
        assert {d.event_type for d in deliveries} >= {
            "public_incident.incident_created_v2",
            "public_incident.incident_status_updated_v2",
        }
        assert [d.state for d in deliveries] == ["succeeded"] * len(deliveries)


async def test_the_sync_alone_drives_the_same_flow(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with stack(dev_env, tmp_path, webhooks=False) as s:
        await start_sync(s.temporal, s.settings, "default", connected_at=None)
        await eventually(lambda: _cursor(s))
        report = await flow(s, severity_id=SEVERITY_MINOR, expected_branch="ticket")
        assert report.events[0].kind == "created"
        assert s.sim.webhooks.deliveries == []


@pytest.mark.parametrize("webhooks", [True, False], ids=["webhooks", "sync"])
async def test_a_configured_incident_io_queue_carries_the_whole_flow(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhooks: bool,
) -> None:
    # No worker polls the default queue here: every incident.io call must go where the
    # setting says, from the webhook route or the sync, through the incident workflow, to
    # the steps of the runs it starts.
    queue = f"e2e-io-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("RENSEI_INCIDENT_IO_TASK_QUEUE", queue)
    async with stack(dev_env, tmp_path, webhooks=webhooks) as s:
        assert s.settings.incident_io_task_queue == queue
        if not webhooks:
            await start_sync(s.temporal, s.settings, "default", connected_at=None)
            await eventually(lambda: _cursor(s))
        async with asyncio.timeout(60):
            report = await flow(s, severity_id=SEVERITY_MINOR, expected_branch="ticket")
        incident = s.temporal.get_workflow_handle(
            incident_workflow_id("default", report.incident_id)
        )
        run = s.temporal.get_workflow_handle(await run_of(s, report.incident_id, "all-clear"))
        assert (await scheduled_queues(incident))["incident_io.sync.snapshot"] == {queue}
        assert (await scheduled_queues(run))["incident_io.timeline.add_event"] == {queue}
        if not webhooks:
            sync = s.temporal.get_workflow_handle(sync_workflow_id("default"))
            assert (await scheduled_queues(sync))["incident_io.sync.poll"] == {queue}


async def scheduled_queues(handle: WorkflowHandle[Any, Any]) -> dict[str, set[str]]:
    """The task queues each activity type was scheduled on in the workflow's history."""
    queues: dict[str, set[str]] = {}
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            attributes = event.activity_task_scheduled_event_attributes
            queues.setdefault(attributes.activity_type.name, set()).add(attributes.task_queue.name)
    return queues


async def _cursor(s: Stack) -> Any:
    integration = await s.store.get_integration("default", "incident_io")
    if integration is not None and integration.sync_cursor:
        return integration.sync_cursor
    from workflows.sync import WorkspaceSyncWorkflow

    status = await s.temporal.get_workflow_handle_for(
        WorkspaceSyncWorkflow.run, sync_workflow_id("default")
    ).query(WorkspaceSyncWorkflow.status)
    return status.cursor if status and status.polls else None
