"""OpenTelemetry: a signed webhook's span is the root of the trace that holds the incident
workflow it starts and the activity of the definition it runs."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import temporal_client
import worker
from activities.definitions import store_definition
from api.app import create_app
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as incident_io_app
from simulators.incident_io.seed import SEVERITY_MAJOR
from simulators.server import serve
from store import Store
from telemetry import tracing
from tests.api.test_webhooks import SECRET
from tests.e2e.test_incident_flow import declare, result_of

ECHO = """name: traced
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: say
    type: debug.echo
    inputs: {text: "{{ $trigger.incident_io.reference }}"}
"""


def test_tracing_is_off_without_an_endpoint() -> None:
    assert not tracing.enabled({})
    assert tracing.enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})


@dataclass
class View:
    """What the incident-flow helpers read."""

    sim_url: str
    temporal: Client


@pytest.mark.asyncio
@pytest.mark.devserver
async def test_a_webhook_trace_continues_into_its_run(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    tracing.setup("rensei-test", processor=SimpleSpanProcessor(exporter))
    try:
        await _deliver_and_run(dev_env, tmp_path)
    finally:
        tracing.reset()
    spans = exporter.get_finished_spans()
    (webhook,) = [s for s in spans if s.name == "webhook incident_io"]
    assert webhook.parent is None
    trace = [s for s in spans if s.context.trace_id == webhook.context.trace_id]
    names = {s.name for s in trace}
    assert "SignalWithStartWorkflow:IncidentWorkflow" in names
    assert "RunWorkflow:IncidentWorkflow" in names
    # the definition has no waiting step: it runs inside the incident's workflow
    assert "StartActivity:debug.echo" in names
    assert "RunActivity:debug.echo" in names


async def _deliver_and_run(env: WorkflowEnvironment, tmp: Path) -> None:
    sim = SimulatorState(SimulatorConfig(seed_incidents=False, schedule_scale=0.001))
    async with serve(incident_io_app(sim)) as sim_url:
        settings = Settings(
            data_dir=tmp / "data",
            temporal_address=env.client.service_client.config.target_host,
            task_queue=f"trace-{uuid.uuid4().hex[:8]}",
            incident_io_base_url=sim_url,
            incident_io_token=SecretStr(SANDBOX_TOKEN),
            incident_io_webhook_secret=SecretStr(SECRET),
            admin_token=SecretStr("admin-token-for-tracing-tests-01"),
            definitions_dir=tmp / "definitions",
        )
        temporal = await temporal_client.connect(settings)
        store = Store.from_settings(settings)
        await store.migrate()
        await store_definition(store, "default", "traced", ECHO)
        app = create_app(settings, store=store, client=temporal)
        async with serve(app) as api_url, contextlib.AsyncExitStack() as running:
            # The simulator delivers the signed incident_created webhook itself.
            sim.webhooks.configure(f"{api_url}/api/webhooks/ingest/incident-io", SECRET)
            http = await running.enter_async_context(worker.http_client())
            for w in worker.build_workers(temporal, settings, store=store, http=http):
                await running.enter_async_context(w)
            view = View(sim_url, temporal)
            incident_id = await declare(view, SEVERITY_MAJOR)  # type: ignore[arg-type]
            await result_of(view, incident_id, "traced")  # type: ignore[arg-type]
            await sim.webhooks.drain()
            await sim.webhooks.aclose()
        await store.close()
