"""A public webhook's incident is the snapshot: incident.io calls per new incident and update.

The stack is webhook-only (no sync poll), so every request the simulator records for an
incident was made because of its webhooks.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import worker
from activities.definitions import store_definition
from api.app import create_app
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE, incident_workflow_id
from contracts.incident import ExplainReport, Hint
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as simulator_app
from simulators.incident_io.seed import SEVERITY_EMERGENCY, STATUS_DOCUMENTING
from simulators.server import serve
from store import Store
from temporal_client import signal_incident
from tests.api.test_webhooks import SECRET
from tests.waiting import eventually
from tests.workflows.test_incident import quiet
from workflows.incident import IncidentWorkflow

pytestmark = pytest.mark.asyncio

CREATED = """name: first
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: echo
    type: debug.echo
    inputs: {text: "{{ $trigger.incident_io.reference }} is {{ $trigger.incident_io.severity }}"}
"""
ON_UPDATE = """name: on-update
trigger:
  type: trigger.incident_io.incident.updated
steps:
  - id: echo
    type: debug.echo
    inputs: {text: "{{ $trigger.incident_io.field }}"}
"""


@dataclass
class Stack:
    sim: SimulatorState
    sim_url: str
    temporal: Client
    task_queue: str


@contextlib.asynccontextmanager
async def stack(
    env: WorkflowEnvironment, tmp: Path, *, on_update: bool = False
) -> AsyncIterator[Stack]:
    """The stack with the ``first`` definition (created), and ``on-update`` if asked."""
    sim = SimulatorState(SimulatorConfig(seed_incidents=False))
    async with serve(simulator_app(sim)) as sim_url:
        settings = Settings(
            data_dir=tmp / "data",
            task_queue=f"snapshot-{uuid.uuid4().hex[:8]}",
            incident_io_base_url=sim_url,
            incident_io_token=SecretStr(SANDBOX_TOKEN),
            incident_io_webhook_secret=SecretStr(SECRET),
            admin_token=SecretStr("admin-token-for-e2e-tests-0123"),
            definitions_dir=tmp / "definitions",
        )
        store = Store.from_settings(settings)
        await store.migrate()
        await store_definition(store, "default", "first", CREATED)
        if on_update:
            await store_definition(store, "default", "on-update", ON_UPDATE)
        app = create_app(settings, store=store, client=env.client)
        async with serve(app) as api_url:
            sim.webhooks.configure(f"{api_url}/api/webhooks/ingest/incident-io", SECRET)
            async with contextlib.AsyncExitStack() as running:
                http = await running.enter_async_context(worker.http_client())
                for w in worker.build_workers(env.client, settings, store=store, http=http):
                    await running.enter_async_context(w)
                yield Stack(sim, sim_url, env.client, settings.task_queue)
                await sim.webhooks.drain()
                await sim.webhooks.aclose()
        await store.close()


async def declare(s: Stack, *, visibility: str = "public") -> str:
    async with httpx.AsyncClient(base_url=s.sim_url) as http:
        response = await http.post(
            "/_sim/incidents",
            json={
                "name": "Checkout 500s",
                "severity_id": SEVERITY_EMERGENCY,
                "visibility": visibility,
            },
        )
        response.raise_for_status()
        return str(response.json()["incident"]["id"])


async def explain(s: Stack, incident_id: str) -> ExplainReport:
    handle = s.temporal.get_workflow_handle_for(
        IncidentWorkflow.run, incident_workflow_id("default", incident_id)
    )
    return await handle.query(IncidentWorkflow.explain)


async def started(s: Stack, incident_id: str) -> ExplainReport:
    """The report once ``first`` started for the incident's ``created`` event."""

    async def ready() -> ExplainReport | None:
        try:
            report = await explain(s, incident_id)
        except Exception:  # the incident workflow has not started yet
            return None
        created = [e for e in report.events if e.kind == "created"]
        if created and any(d.outcome == "started" for d in created[0].decisions):
            return report
        return None

    return await eventually(ready)


def calls_for(s: Stack, incident_id: str) -> dict[str, int]:
    """incident.io requests about the incident: its GET, its updates, its timeline."""
    counts = {"incident": 0, "updates": 0, "timeline": 0}
    for r in s.sim.requests:
        if r.method == "GET" and r.path == f"/v2/incidents/{incident_id}":
            counts["incident"] += 1
        elif r.path == "/v2/incident_updates" and incident_id in r.query:
            counts["updates"] += 1
        elif r.path == "/v2/incident_timeline_items" and incident_id in r.query:
            counts["timeline"] += 1
    return counts


async def test_a_public_incident_is_routed_without_fetching_it(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with stack(dev_env, tmp_path) as s:
        incident_id = await declare(s)
        report = await started(s, incident_id)
        assert (report.reference, report.severity, report.status) == (
            "INC-1",
            "SEV-1",
            "Investigating",
        )
        assert calls_for(s, incident_id) == {"incident": 0, "updates": 0, "timeline": 0}
        assert [d.event_type for d in s.sim.webhooks.deliveries] == [
            "public_incident.incident_created_v2"
        ]


async def test_a_private_incident_is_fetched_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with stack(dev_env, tmp_path) as s:
        incident_id = await declare(s, visibility="private")
        report = await started(s, incident_id)
        assert report.severity == "SEV-1"
        assert calls_for(s, incident_id)["incident"] == 1


async def test_a_late_delivery_never_moves_the_snapshot_back(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # a definition on updated: the incident's updates and timeline items are read
    async with stack(dev_env, tmp_path, on_update=True) as s:
        incident_id = await declare(s)
        first = await started(s, incident_id)
        created = s.sim.webhooks.deliveries[0].payload
        older: dict[str, Any] = created[created["event_type"]]
        await s.sim.webhooks.drain()
        s.sim.webhooks.configure(None, None)  # this test delivers the hints itself
        headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
        async with httpx.AsyncClient(base_url=s.sim_url, headers=headers) as http:
            moved = await http.post(
                f"/_sim/incidents/{incident_id}/status",
                json={"incident_status_id": STATUS_DOCUMENTING},
            )
            moved.raise_for_status()
            # As if incident.io had recorded it with the declaration: part of the baseline.
            backdated = await http.post(
                "/v2/incident_timeline_items",
                json={
                    "idempotency_key": "declared",
                    "incident_id": incident_id,
                    "title": "Declared",
                    "timestamp": older["created_at"],
                },
            )
            backdated.raise_for_status()
            shown = await http.get(f"/v2/incidents/{incident_id}")
            shown.raise_for_status()
            newer: dict[str, Any] = shown.json()["incident"]
        assert newer["updated_at"] > older["updated_at"]

        async def hint(webhook_id: str, incident: dict[str, Any]) -> None:
            await signal_incident(
                s.temporal,
                "default",
                incident_id,
                Hint(
                    source="webhook",
                    webhook_id=webhook_id,
                    event_type="public_incident.incident_updated_v2",
                    incident=incident,
                ),
                task_queue=s.task_queue,
                incident_io_task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
            )

        async def status_is(name: str) -> ExplainReport | None:
            report = await explain(s, incident_id)
            return report if report.status == name else None

        await hint("msg_newer", newer)
        moved_on: ExplainReport = await eventually(lambda: status_is("Documenting"))
        assert first.status == "Investigating"
        assert calls_for(s, incident_id)["incident"] == 1  # this test's own GET

        await hint("msg_older", older)  # the creation, delivered late: older than the snapshot

        async def fetched_again() -> ExplainReport | None:
            report = await explain(s, incident_id)
            return report if report.last_fetch_at != moved_on.last_fetch_at else None

        # Not taken: the incident is fetched as before, and the fetch is the newest.
        after: ExplainReport = await eventually(fetched_again)
        assert calls_for(s, incident_id)["incident"] == 2
        assert after.status == "Documenting"
        # Announced: the status change and the incident update it posted; not the baseline.
        assert [(e.kind, e.field) for e in after.events] == [
            ("created", None),
            ("updated", "status"),
            ("updated", "timeline"),
            ("resolved", None),
        ]
        assert after.events[-1].seq == 4  # the late delivery caused none


@pytest.mark.parametrize("on_update", [False, True])
async def test_an_update_of_a_known_incident_costs_a_call_only_for_who_reads_it(
    dev_env: WorkflowEnvironment, tmp_path: Path, on_update: bool
) -> None:
    """No definition on updated: the webhooks' incident is the whole read (0 calls); one on
    updated: its updates and timeline items are read (2 calls a batch), never the incident."""
    async with stack(dev_env, tmp_path, on_update=on_update) as s:
        incident_id = await declare(s)
        await started(s, incident_id)
        headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
        async with httpx.AsyncClient(base_url=s.sim_url, headers=headers) as http:
            moved = await http.post(
                f"/_sim/incidents/{incident_id}/status",
                json={"incident_status_id": STATUS_DOCUMENTING},
            )
            moved.raise_for_status()

        async def moved_on() -> ExplainReport | None:
            report = await explain(s, incident_id)
            return report if report.status == "Documenting" else None

        await eventually(moved_on)
        # Counted when no read is in flight: a batch may have read its updates and not yet
        # its timeline items.
        report: ExplainReport = await quiet(
            s.temporal.get_workflow_handle(incident_workflow_id("default", incident_id))
        )
        updates = [d.event_type for d in s.sim.webhooks.deliveries[1:]]
        assert updates and all(t.startswith("public_incident.") for t in updates), updates
        calls = calls_for(s, incident_id)
        assert calls["incident"] == 0, updates  # both deliveries carry the incident
        if on_update:
            # one read of each per batch: the two deliveries are one batch or two
            assert 1 <= calls["updates"] == calls["timeline"] <= len(updates), calls
        else:
            assert calls == {"incident": 0, "updates": 0, "timeline": 0}
        kinds = [(e.kind, e.field) for e in report.events]
        assert ("updated", "status") in kinds and ("resolved", None) in kinds
