"""The metrics an operator scrapes, with real values after real traffic: signed webhooks
from the incident.io simulator into the API, runs on a worker (one completes, one fails
after a Slack 429, one waits for an approval), a redelivery, refused deliveries. Then every
metric the Grafana dashboard queries is on the API's /metrics or the worker's endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import temporal_client
import worker
from activities.definitions import store_definition
from api.app import create_app
from contracts.messages import DecideInput
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as incident_io_app
from simulators.incident_io.seed import SEVERITY_MAJOR, STATUS_FIXING, STATUS_MONITORING
from simulators.server import free_port, serve
from simulators.slack import SANDBOX_BOT_TOKEN, SlackState
from simulators.slack import create_app as slack_app
from simulators.slack.state import Faults
from store import Store
from telemetry import metrics
from tests.api.test_webhooks import OTHER_SECRET, SECRET, body_for, signed
from tests.e2e.test_incident_flow import declare, result_of, run_of
from tests.waiting import eventually
from workflows.interpreter import InterpreterWorkflow

pytestmark = [pytest.mark.asyncio, pytest.mark.devserver]
ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"

ECHO = """name: metrics-echo
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: say
    type: debug.echo
    inputs: {text: "{{ $trigger.incident_io.reference }}"}
"""
FAILING = """name: metrics-failing
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: notify
    type: slack.post
    inputs: {channel: "#no-such-channel", message: "hello"}
"""
GATED = """name: metrics-gated
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: gate
    type: approval
    inputs:
      channel: "#incidents"
      message: "Go?"
      approvers: ["U01ALICE"]
      timeout: 10m
"""
LIMITED = """name: metrics-limited
trigger:
  type: trigger.incident_io.incident.updated
  filter: "{{ $trigger.incident_io.field == 'status' }}"
  maxRunsPerHour: 1
steps:
  - id: say
    type: debug.echo
    inputs: {text: "{{ $trigger.incident_io.new_value }}"}
"""


@dataclass
class Scrape:
    api: httpx.AsyncClient
    worker_url: str
    temporal: Client
    sim: SimulatorState
    sim_url: str
    slack: SlackState

    async def api_text(self) -> str:
        return (await self.api.get("/metrics")).text

    async def worker_text(self) -> str:
        """The worker's endpoint. In this test both share one process (and one registry),
        so the API's series show here too; each is read from its own endpoint below."""
        async with httpx.AsyncClient() as http:
            return (await http.get(self.worker_url)).text


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def value(text: str, name: str, **labels: str) -> float:
    return sum(
        v
        for found, v in samples(text).get(name, [])
        if all(found.get(k) == want for k, want in labels.items())
    )


@contextlib.asynccontextmanager
async def stack(env: WorkflowEnvironment, tmp: Path) -> AsyncIterator[Scrape]:
    sim = SimulatorState(SimulatorConfig(seed_incidents=False, schedule_scale=0.001))
    slack = SlackState()
    async with serve(incident_io_app(sim)) as sim_url, serve(slack_app(slack)) as slack_url:
        settings = Settings(
            data_dir=tmp / "data",
            temporal_address=env.client.service_client.config.target_host,
            task_queue=f"metrics-{uuid.uuid4().hex[:8]}",
            incident_io_base_url=sim_url,
            incident_io_token=SecretStr(SANDBOX_TOKEN),
            incident_io_webhook_secret=SecretStr(SECRET),
            slack_base_url=slack_url,
            slack_bot_token=SecretStr(SANDBOX_BOT_TOKEN),
            admin_token=SecretStr("admin-token-for-metrics-tests-01"),
            definitions_dir=tmp / "definitions",
            worker_metrics_port=free_port(),
        )
        runtime, sdk_address = worker.sdk_runtime(settings)
        assert sdk_address is not None
        endpoint = await metrics.serve_worker_metrics(
            "127.0.0.1", settings.worker_metrics_port, sdk=metrics.sdk_fetcher(sdk_address)
        )
        temporal = await temporal_client.connect(settings, runtime=runtime)
        store = Store.from_settings(settings)
        try:
            await store.migrate()
            for text in (ECHO, FAILING, GATED, LIMITED):
                await store_definition(store, "default", text.split("\n")[0].split(": ")[1], text)
            app = create_app(settings, store=store, client=temporal)
            async with (
                contextlib.aclosing(_Closing(endpoint)),
                serve(app) as api_url,
                contextlib.AsyncExitStack() as running,
            ):
                sim.webhooks.configure(f"{api_url}/api/webhooks/ingest/incident-io", SECRET)
                http = await running.enter_async_context(worker.http_client())
                for w in worker.build_workers(temporal, settings, store=store, http=http):
                    await running.enter_async_context(w)
                api = await running.enter_async_context(httpx.AsyncClient(base_url=api_url))
                yield Scrape(
                    api,
                    f"http://127.0.0.1:{settings.worker_metrics_port}/metrics",
                    temporal,
                    sim,
                    sim_url,
                    slack,
                )
                await sim.webhooks.drain()
                await sim.webhooks.aclose()
        finally:
            await store.close()


@dataclass
class _Closing:
    server: asyncio.Server

    async def aclose(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def test_metrics_after_real_traffic(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with stack(dev_env, tmp_path) as s:
        api_before, worker_before = await s.api_text(), await s.worker_text()
        s.slack.set_faults(Faults(ratelimited=1, retry_after=1, method="chat.postMessage"))
        incident_id = await declare(s, SEVERITY_MAJOR)
        assert (await result_of(s, incident_id, "metrics-echo")).status == "completed"
        assert (await result_of(s, incident_id, "metrics-failing")).status == "failed"
        gated = s.temporal.get_workflow_handle(await run_of(s, incident_id, "metrics-gated"))

        async def waiting() -> bool | None:
            items = await gated.query(InterpreterWorkflow.approvals)
            return True if any(i.status == "waiting" for i in items) else None

        await eventually(waiting)
        await gated.execute_update(
            InterpreterWorkflow.decide,
            DecideInput(step_id="gate", decision="approved", by="operator"),
        )
        await gated.result()
        await _tripped(s, incident_id)
        await _refused_and_redelivered(s, incident_id)
        api_after, after = await s.api_text(), await s.worker_text()

    def delta(name: str, **labels: str) -> float:
        if name.startswith("rensei_webhook"):
            return value(api_after, name, **labels) - value(api_before, name, **labels)
        return value(after, name, **labels) - value(worker_before, name, **labels)

    assert delta("rensei_webhooks_accepted_total", source="incident_io") >= 2
    assert delta("rensei_webhooks_rejected_total", reason="signature") == 1
    assert delta("rensei_webhooks_rejected_total", reason="invalid_body") == 1
    assert (
        delta("rensei_webhooks_ignored_total", event_type="public_incident.follow_up_created_v1")
        == 1
    )
    assert delta("rensei_webhook_ingest_seconds_count", outcome="accepted") >= 2
    assert value(after, "rensei_webhooks_deduplicated_total") >= 1
    assert value(after, "rensei_runs_started_total", definition="metrics-echo") == 1
    assert value(after, "rensei_runs_completed_total", definition="metrics-echo") == 1
    assert value(after, "rensei_runs_failed_total", definition="metrics-failing") == 1
    assert value(after, "rensei_runs_completed_total", definition="metrics-gated") == 1
    failures = [
        labels
        for labels, v in samples(after)["rensei_step_failures_total"]
        if labels.get("definition") == "metrics-failing" and v == 1
    ]
    assert failures and failures[0]["node"] == "slack.post"
    assert failures[0]["error_kind"] not in ("", "expression")
    assert value(after, "rensei_approvals_requested_total", definition="metrics-gated") == 1
    assert value(after, "rensei_approvals_resolved_total", outcome="approved") == 1
    assert value(after, "rensei_runs_started_total", definition="metrics-limited") == 1
    assert value(after, "rensei_loop_breaker_trips_total", definition="metrics-limited") == 1
    assert delta("rensei_provider_calls_total", provider="slack", status="2xx") >= 1
    assert delta("rensei_provider_rate_limited_total", provider="slack") == 1
    assert delta("rensei_provider_retry_wait_seconds_sum", provider="slack") == 1
    assert delta("rensei_provider_calls_total", provider="incident_io") >= 1
    assert value(after, "temporal_workflow_completed_total") >= 1  # the SDK's own
    _every_dashboard_metric_is_served(api_after + after)


async def _tripped(s: Scrape, incident_id: str) -> None:
    """Two status changes: the first starts metrics-limited, the breaker refuses the second."""
    async with httpx.AsyncClient(base_url=s.sim_url) as http:
        for status in (STATUS_FIXING, STATUS_MONITORING):
            moved = await http.post(
                f"/_sim/incidents/{incident_id}/status", json={"incident_status_id": status}
            )
            moved.raise_for_status()

            async def decided(status: str = status) -> list[str] | None:
                report = await temporal_client.explain(s.temporal, "default", incident_id)
                found = [
                    d.outcome + (f": {d.reason}" if d.reason else "")
                    for e in report.events
                    if e.field == "status"
                    for d in e.decisions
                    if d.definition == "metrics-limited"
                ]
                return found if len(found) == (1 if status == STATUS_FIXING else 2) else None

            outcomes = await eventually(decided, message=f"no decision for status {status}")
    assert outcomes[0].startswith("started"), outcomes
    assert outcomes[1].startswith("skipped: loop breaker: it started 1 runs"), outcomes


async def _refused_and_redelivered(s: Scrape, incident_id: str) -> None:
    route = "/api/webhooks/ingest/incident-io"
    body = body_for(incident_id, "public_incident.incident_updated_v2")
    forged = await s.api.post(route, content=body, headers=signed(body, secret=OTHER_SECRET))
    assert forged.status_code == 401
    garbage = b"not json"
    assert (await s.api.post(route, content=garbage, headers=signed(garbage))).status_code == 400
    other = json.dumps(
        {
            "event_type": "public_incident.follow_up_created_v1",
            "public_incident.follow_up_created_v1": {},
        }
    ).encode()
    ignored = await s.api.post(route, content=other, headers=signed(other))
    assert ignored.json()["status"] == "ignored"
    headers = signed(body, msg_id=f"msg_{uuid.uuid4().hex}")
    assert (await s.api.post(route, content=body, headers=headers)).status_code == 200

    async def deduplicated() -> bool | None:
        # Redelivered until the incident's workflow has seen the first one and drops a copy.
        assert (await s.api.post(route, content=body, headers=headers)).status_code == 200
        return True if value(await s.worker_text(), "rensei_webhooks_deduplicated_total") else None

    await eventually(deduplicated)


def dashboard_metrics() -> set[str]:
    """Every metric name the dashboard's PromQL expressions read."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert exprs, "the dashboard has no queries"
    names: set[str] = set()
    for expr in exprs:
        names |= set(re.findall(r"\b((?:rensei|temporal)_[a-z0-9_]+)\b", expr))
    return names


def _every_dashboard_metric_is_served(text: str) -> None:
    served = set(samples(text))
    wanted = dashboard_metrics()
    assert wanted <= served, sorted(wanted - served)
