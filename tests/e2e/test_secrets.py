"""Issue 5.6: an incident.io token and webhook signing secret connected through the API never
reach Temporal history, the store's database file in plaintext, or the logs."""

from __future__ import annotations

import base64
import contextlib
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

import worker
from activities.definitions import store_definition
from api.app import create_app
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as simulator_app
from simulators.incident_io.seed import SEVERITY_EMERGENCY
from simulators.server import serve
from store import Store
from temporal_client import stop_sync
from tests.e2e.test_incident_flow import Stack, declare, result_of

pytestmark = pytest.mark.asyncio
ADMIN = "admin-token-for-secret-tests-0123"
NOTE = """name: note
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: fetch
    type: incident_io.incident.get
    inputs:
      incidentId: "{{ $trigger.incident_io.incident_id }}"
  - id: note
    type: incident_io.timeline.add_event
    inputs:
      incidentId: "{{ $steps.fetch.id }}"
      eventType: custom
      title: Seen by rensei
      description: "{{ $steps.fetch.title }}"
"""


def forms(secret: str) -> list[str]:
    """The secret, and what any base64 text holding it contains, at each of the 3 alignments."""
    raw = secret.encode()
    found = [secret, base64.b64encode(raw).decode().rstrip("=")]
    for offset in (1, 2):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode()
        found.append(encoded[4:-8])  # drop the groups that mix in neighbouring bytes
    for url_safe in list(found[1:]):
        found.append(url_safe.replace("+", "-").replace("/", "_"))
    return found


@contextlib.asynccontextmanager
async def connected_stack(env: WorkflowEnvironment, tmp: Path, secret: str) -> AsyncIterator[Stack]:
    """Nothing configured in the environment: the token and secret arrive through the API."""
    sim = SimulatorState(SimulatorConfig(seed_incidents=False, schedule_scale=0.001))
    async with serve(simulator_app(sim)) as sim_url:
        settings = Settings(
            data_dir=tmp / "data",
            task_queue=f"sec-{uuid.uuid4().hex[:8]}",
            incident_io_base_url=sim_url,
            admin_token=SecretStr(ADMIN),
            definitions_dir=tmp / "definitions",
            sync_interval=0.5,
        )
        store = Store.from_settings(settings)
        await store.migrate()
        try:
            async with _serving(env, settings, store, sim, sim_url, secret) as stack:
                yield stack
        finally:
            await store.close()


@contextlib.asynccontextmanager
async def _serving(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    sim: SimulatorState,
    sim_url: str,
    secret: str,
) -> AsyncIterator[Stack]:
    await store_definition(store, "default", "note", NOTE)
    app = create_app(settings, store=store, client=env.client)
    async with serve(app) as api_url:
        async with httpx.AsyncClient(
            base_url=api_url, headers={"Authorization": f"Bearer {ADMIN}"}
        ) as api:
            connect = await api.post("/api/integrations/incident-io", json={"token": SANDBOX_TOKEN})
            assert connect.status_code == 200, connect.text
            assert connect.json()["sync"]["status"] == "running"
            saved = await api.put(
                "/api/integrations/incident-io/webhook-secret", json={"secret": secret}
            )
            assert saved.status_code == 200, saved.text
        sim.webhooks.configure(f"{api_url}/api/webhooks/ingest/incident-io/default", secret)
        async with contextlib.AsyncExitStack() as running:
            http = await running.enter_async_context(worker.http_client())
            for w in worker.build_workers(env.client, settings, store=store, http=http):
                await running.enter_async_context(w)
            try:
                yield Stack(settings, sim, sim_url, api_url, env.client, store)
            finally:
                await stop_sync(env.client, "default")
                await sim.webhooks.drain()
                await sim.webhooks.aclose()


async def test_secrets_stay_out_of_history_database_and_logs(
    dev_env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    async with connected_stack(dev_env, tmp_path, secret) as s:
        incident_id = await declare(s, SEVERITY_EMERGENCY)
        result = await result_of(s, incident_id, "note")
        assert [step.status for step in result.steps] == ["completed", "completed"]
        assert [t.title for t in s.sim.timeline if t.incident_id == incident_id] == [
            "Seen by rensei"
        ]
        deliveries = s.sim.webhooks.deliveries
        assert deliveries and all(d.state == "succeeded" for d in deliveries)

        query = f"TaskQueue='{s.settings.task_queue}'"
        executions = [w async for w in s.temporal.list_workflows(query)]
        types = {w.workflow_type for w in executions}
        # the note ran inline: its calls are in the incident workflow's history
        assert {"IncidentWorkflow", "WorkspaceSyncWorkflow"} <= types
        leaked: list[str] = []
        for execution in executions:
            handle = s.temporal.get_workflow_handle(execution.id, run_id=execution.run_id)
            history = (await handle.fetch_history()).to_json()
            assert history.count('"eventId"') > 3
            for value in (SANDBOX_TOKEN, secret):
                leaked += [f"{execution.id}: {f}" for f in forms(value) if f in history]
        assert leaked == []

    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("rensei.db*"))
    assert stored, "the store wrote no database file"
    for value in (SANDBOX_TOKEN, secret):
        assert value.encode() not in stored
        assert value[-12:].encode() not in stored
        for form in forms(value):
            assert form not in caplog.text
    assert "incident.io connected" in caplog.text  # the logs were captured at all
