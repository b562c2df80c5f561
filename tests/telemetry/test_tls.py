"""Temporal beyond one machine: the worker and the API reach the frontend over mTLS (a
TLS-terminating proxy with a throw-away CA in front of the dev server) and a definition
runs end to end; bad TLS settings are refused with the setting's name."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
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
from tests.api.test_webhooks import SECRET
from tests.e2e.test_incident_flow import declare, result_of
from tests.telemetry.tls_proxy import make_pki, tls_proxy

ECHO = """name: over-tls
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: say
    type: debug.echo
    inputs: {text: "{{ $trigger.incident_io.reference }}"}
"""


@dataclass
class View:
    sim_url: str
    temporal: Client


def test_a_certificate_needs_its_key(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with pytest.raises(
        temporal_client.TemporalConfigError,
        match="RENSEI_TEMPORAL_TLS_CERT and RENSEI_TEMPORAL_TLS_KEY",
    ):
        temporal_client.tls_config(Settings(temporal_tls_cert=pki.client_cert))


def test_an_unreadable_file_names_its_setting(tmp_path: Path) -> None:
    with pytest.raises(
        temporal_client.TemporalConfigError, match=r"RENSEI_TEMPORAL_TLS_CA: cannot read .*ca\.pem"
    ):
        temporal_client.tls_config(Settings(temporal_tls_ca=tmp_path / "ca.pem"))


def test_plaintext_unless_asked_and_tls_for_an_api_key(tmp_path: Path) -> None:
    assert temporal_client.tls_config(Settings()) is False
    assert temporal_client.tls_config(Settings(temporal_tls=True)) is True
    assert temporal_client.tls_config(Settings(temporal_api_key=SecretStr("key"))) is True
    pki = make_pki(tmp_path)
    config = temporal_client.tls_config(
        Settings(
            temporal_tls_ca=pki.ca,
            temporal_tls_cert=pki.client_cert,
            temporal_tls_key=pki.client_key,
        )
    )
    assert not isinstance(config, bool)
    assert config.server_root_ca_cert == pki.ca.read_bytes()
    assert config.client_private_key == pki.client_key.read_bytes()


@pytest.mark.asyncio
@pytest.mark.devserver
async def test_without_a_client_certificate_the_cluster_refuses(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    upstream = dev_env.client.service_client.config.target_host
    async with tls_proxy(pki, upstream) as proxy:
        settings = Settings(temporal_address=f"127.0.0.1:{proxy.port}", temporal_tls_ca=pki.ca)
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(temporal_client.connect(settings), 60)


@pytest.mark.asyncio
@pytest.mark.devserver
async def test_worker_and_api_over_mtls_run_a_definition(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    upstream = dev_env.client.service_client.config.target_host
    sim = SimulatorState(SimulatorConfig(seed_incidents=False, schedule_scale=0.001))
    async with tls_proxy(pki, upstream) as proxy, serve(incident_io_app(sim)) as sim_url:
        settings = Settings(
            data_dir=tmp_path / "data",
            temporal_address=f"127.0.0.1:{proxy.port}",
            temporal_tls_ca=pki.ca,
            temporal_tls_cert=pki.client_cert,
            temporal_tls_key=pki.client_key,
            temporal_tls_server_name="localhost",
            task_queue=f"tls-{uuid.uuid4().hex[:8]}",
            incident_io_base_url=sim_url,
            incident_io_token=SecretStr(SANDBOX_TOKEN),
            incident_io_webhook_secret=SecretStr(SECRET),
            admin_token=SecretStr("admin-token-for-tls-tests-012345"),
            definitions_dir=tmp_path / "definitions",
        )
        temporal = await temporal_client.connect(settings)  # the worker's connection
        store = Store.from_settings(settings)
        await store.migrate()
        await store_definition(store, "default", "over-tls", ECHO)
        app = create_app(settings, store=store)  # connects itself, through temporal_client.connect
        async with serve(app) as api_url, contextlib.AsyncExitStack() as running:
            sim.webhooks.configure(f"{api_url}/api/webhooks/ingest/incident-io", SECRET)
            http = await running.enter_async_context(worker.http_client())
            for w in worker.build_workers(temporal, settings, store=store, http=http):
                await running.enter_async_context(w)
            view = View(sim_url, temporal)
            incident_id = await declare(view, SEVERITY_MAJOR)  # type: ignore[arg-type]
            result = await result_of(view, incident_id, "over-tls")  # type: ignore[arg-type]
            await sim.webhooks.drain()
            await sim.webhooks.aclose()
            api_client = await app.state.temporal.get()
        await store.close()
    assert result.status == "completed"
    assert api_client is not temporal and api_client.service_client.config.tls
    assert len(proxy.handshakes) >= 2  # the worker's and the API's connections
    assert all("rensei-worker" in subject for subject in proxy.handshakes)
