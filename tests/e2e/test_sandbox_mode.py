"""Issue 5.7: ``make run`` with nothing configured connects the default workspace to the
simulators; an incident declared there starts a definition run; a real token switches it off."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

import temporal_client
import worker
from api.app import create_app
from contracts.runs import RunResult
from settings import Settings
from simulators.incident_io import VIEWER_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as simulator_app
from simulators.server import free_port, serve
from stack.sandbox_mode import (
    SandboxPlan,
    declare_incident,
    prepare_sandbox,
    sandbox_wanted,
    serve_sandbox,
)
from stack.supervisor import Preparation, banner
from store import Store
from temporal_client import stop_sync
from tests.e2e.test_incident_flow import explain
from tests.waiting import eventually
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio
ADMIN = "admin-token-for-sandbox-tests-0123"


def four_free_ports() -> int:
    """A base port whose next three ports are free too."""
    for _ in range(50):
        base = free_port()
        with contextlib.ExitStack() as held:
            try:
                for port in range(base, base + 4):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError("no four consecutive free ports")


@contextlib.asynccontextmanager
async def sandbox_stack(
    env: WorkflowEnvironment, tmp: Path, monkeypatch: pytest.MonkeyPatch, real_url: str
) -> AsyncIterator[tuple[Settings, SandboxPlan, str]]:
    """The supervisor's pieces in-process: prepare, simulators, API, workers."""
    for name in ("RENSEI_INCIDENT_IO_TOKEN", "RENSEI_SLACK_BOT_TOKEN", "RENSEI_LINEAR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    given: dict[str, Any] = {
        "data_dir": tmp / "data",
        "temporal_address": env.client.service_client.config.target_host,
        "task_queue": f"sbx-{uuid.uuid4().hex[:8]}",
        "api_port": free_port(),
        "sandbox_port": four_free_ports(),
        "admin_token": SecretStr(ADMIN),
        "definitions_dir": tmp / "definitions",
        "incident_io_base_url": real_url,  # stands in for https://api.incident.io
        "sync_interval": 0.5,
    }
    store = Store.from_settings(Settings(**given))
    await store.migrate()
    try:
        plan = await prepare_sandbox(Settings(**given), store)
        assert plan is not None
        for name, value in plan.env().items():  # what the supervisor gives its children
            monkeypatch.setenv(name, value)
        settings = Settings(**given)
        stop = asyncio.Event()
        sims = asyncio.create_task(serve_sandbox(settings, webhook_url=plan.webhook_url, stop=stop))
        try:
            await eventually(lambda: _answers(plan.urls["incident-responder"]), seconds=10)
            async with _api_and_workers(settings, store) as api_url:
                yield settings, plan, api_url
        finally:
            stop.set()
            await sims
    finally:
        await store.close()


async def _answers(url: str) -> bool | None:
    async with httpx.AsyncClient() as http:
        try:
            await http.get(url + "/.well-known/agent-card.json")
        except httpx.TransportError:
            return None
    return True


@contextlib.asynccontextmanager
async def _api_and_workers(settings: Settings, store: Store) -> AsyncIterator[str]:
    client = await temporal_client.connect(settings)
    app = create_app(settings)  # its own store, as the API process has
    async with serve(app, port=settings.api_port) as api_url, contextlib.AsyncExitStack() as run:
        http = await run.enter_async_context(worker.http_client())
        for w in worker.build_workers(client, settings, store=store, http=http):
            await run.enter_async_context(w)
        try:
            yield api_url
        finally:
            await stop_sync(client, "default")
            await _end_waiting(client, settings.task_queue)


async def _end_waiting(client: Client, queue: str) -> None:
    """Approval and wait steps of the examples would wait forever: end them."""
    async for execution in client.list_workflows(f"TaskQueue='{queue}'"):
        if execution.status == WorkflowExecutionStatus.RUNNING:
            with contextlib.suppress(Exception):
                await client.get_workflow_handle(execution.id).terminate(reason="test over")


async def _started_run(client: Client, incident_id: str) -> str | None:
    try:
        report = await explain(client, incident_id)
    except Exception:  # the incident workflow has not started yet
        return None
    for event in report.events:
        for decision in event.decisions:
            if decision.outcome == "started" and decision.workflow_id:
                return decision.workflow_id
    return None


async def test_sandbox_mode_runs_definitions_then_a_real_token_switches_it_off(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = SimulatorState(SimulatorConfig(seed_incidents=False))
    async with (
        serve(simulator_app(real)) as real_url,
        sandbox_stack(dev_env, tmp_path, monkeypatch, real_url) as (s, plan, api),
    ):
        assert {r.status for r in plan.definitions} == {"stored"}
        text = banner(s, Preparation(ADMIN, True, "admin.token", plan))
        assert "Sandbox mode" in text and "rensei sandbox incident" in text
        assert f"{api}/settings/integrations" in text and ADMIN in text
        assert "enabled at first start: seed-routing" in text
        assert "rensei workflows enable NAME" in text

        created = await declare_incident(s, title="Checkout is down", severity="SEV-1")
        incident_id = created["incident"]["id"]
        client = await temporal_client.connect(s)
        run_id = await eventually(lambda: _started_run(client, incident_id), seconds=20)
        assert run_id.endswith("-seed-routing")
        # one coherent reaction: the other examples are stored but disabled
        decisions = (await explain(client, incident_id)).events[0].decisions
        started = [d.definition for d in decisions if d.outcome == "started"]
        assert started == ["seed-routing"] and len(decisions) == len(plan.definitions)
        routed: RunResult = await client.get_workflow_handle_for(
            InterpreterWorkflow.run, run_id
        ).result()
        statuses = {step.id: step.status for step in routed.steps}
        assert statuses["page_oncall"] == statuses["dispatch_agent"] == "completed"
        assert "failed" not in statuses.values()

        headers = {"Authorization": f"Bearer {ADMIN}"}
        async with httpx.AsyncClient(base_url=api, headers=headers) as http:
            page = await http.get("/settings/integrations")
            assert "Sandbox mode:" in page.text and plan.urls["incident-io"] in page.text
            connect = await http.post("/api/integrations/incident-io", json={"token": VIEWER_TOKEN})
            assert connect.status_code == 200, connect.text
            page = await http.get("/settings/integrations")
            assert "Sandbox mode:" not in page.text

    after = Store.from_settings(s)
    try:
        assert not await sandbox_wanted(s, after)
        assert await after.get_credential("default", "incident_io", "webhook_secret") is None
        assert await after.get_credential("default", "incident_io", "token") == VIEWER_TOKEN
    finally:
        await after.close()
