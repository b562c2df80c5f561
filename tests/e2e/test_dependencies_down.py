"""Temporal or the database down at start: the worker and the API wait, say so, and recover."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from settings import Settings
from simulators.server import free_port, serve
from tests.api.test_webhooks import SECRET, body_for, signed
from tests.e2e.test_incident_flow import eventually
from tests.e2e.test_temporal_outage import DevServer

pytestmark = [pytest.mark.asyncio, pytest.mark.devserver]
ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevServer]:
    found = DevServer(tmp_path)
    yield found
    found.stop()


async def _get(url: str) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(timeout=3.0) as http:
            return await http.get(url)
    except httpx.TransportError:
        return None


async def test_the_worker_waits_for_temporal_then_polls(server: DevServer, tmp_path: Path) -> None:
    health = free_port()
    env = dict(
        os.environ,
        RENSEI_TEMPORAL_ADDRESS=f"127.0.0.1:{server.port}",
        RENSEI_DATA_DIR=str(tmp_path / "data"),
        RENSEI_WORKER_HEALTH_PORT=str(health),
        RENSEI_WORKER_METRICS_PORT=str(free_port()),
        RENSEI_RECONNECT_MAX_INTERVAL="0.5",
        RENSEI_TASK_QUEUE=f"waits-{uuid.uuid4().hex[:8]}",
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "worker", cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        url = f"http://127.0.0.1:{health}"
        waiting = f"waiting for Temporal at 127.0.0.1:{server.port}"
        await eventually(lambda: _contains(log, waiting), seconds=60)
        answer = await _get(f"{url}/readyz")
        assert answer is not None and answer.status_code == 503
        assert answer.json()["temporal"] == "connecting"
        assert answer.json()["database"] == "ok"
        assert process.returncode is None  # still waiting, not dead
        await server.start()
        ready = await eventually(lambda: _status(f"{url}/readyz", 200), seconds=60)
        assert ready.json()["temporal"] == "ok"
        assert ready.json()["workers"] == "polling"
    finally:
        process.kill()
        await process.wait()
    text = log.read_text()
    assert text.count("waiting for Temporal") == 1, text  # one line per state change
    assert f"connected to Temporal at 127.0.0.1:{server.port} after" in text
    assert "Traceback" not in text


async def _contains(path: Path, text: str) -> bool | None:
    return True if path.exists() and text in path.read_text() else None


async def _status(url: str, code: int) -> httpx.Response | None:
    answer = await _get(url)
    return answer if answer is not None and answer.status_code == code else None


async def test_the_api_answers_503_until_its_dependencies_are_up(
    server: DevServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    def messages() -> list[str]:
        return [r.getMessage() for r in caplog.records]

    missing = tmp_path / "db-volume-not-mounted-yet"
    settings = Settings(
        data_dir=tmp_path / "data",
        temporal_address=f"127.0.0.1:{server.port}",
        database_url=f"sqlite:///{missing / 'rensei.db'}",
        incident_io_webhook_secret=SecretStr(SECRET),
        admin_token=SecretStr("admin-token-for-this-test-0123"),
        definitions_dir=tmp_path / "none",
        reconnect_max_interval=0.5,
    )
    async with serve(create_app(settings)) as api:
        health = await _get(f"{api}/healthz")
        assert health is not None and health.status_code == 200
        assert health.json()["temporal"] == "unreachable"
        assert health.json()["database"] == "migrating"
        ready = await _get(f"{api}/readyz")
        assert ready is not None and ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        body = body_for(f"01{uuid.uuid4().hex[:10].upper()}")
        async with httpx.AsyncClient(timeout=10.0) as http:
            refused = await http.post(
                f"{api}/api/webhooks/ingest/incident-io", content=body, headers=signed(body)
            )
        assert refused.status_code == 503  # not a 500: incident.io delivers it again
        assert "database is unavailable" in refused.json()["error"]

        missing.mkdir()  # the database comes up
        await eventually(lambda: _field(f"{api}/healthz", "database", "ok"), seconds=30)
        still = await _get(f"{api}/readyz")
        assert still is not None and still.status_code == 503
        assert still.json()["temporal"] == "unreachable"

        await server.start()  # and Temporal
        await eventually(lambda: _status(f"{api}/readyz", 200), seconds=60)
        async with httpx.AsyncClient(timeout=10.0) as http:
            accepted = await http.post(
                f"{api}/api/webhooks/ingest/incident-io", content=body, headers=signed(body)
            )
        assert accepted.status_code == 200

        async def logged(prefix: str) -> bool | None:  # within one backoff interval
            return True if any(m.startswith(prefix) for m in messages()) else None

        await eventually(lambda: logged("connected to Temporal at"), seconds=10)
        await eventually(lambda: logged("connected to the database at"), seconds=10)
    assert sum(m.startswith("waiting for Temporal at") for m in messages()) == 1
    assert sum(m.startswith("waiting for the database at") for m in messages()) == 1


async def _field(url: str, name: str, value: str) -> bool | None:
    answer = await _get(url)
    return True if answer is not None and answer.json().get(name) == value else None
