"""Temporal stopped during ingest: 503 so incident.io retries, and nothing is lost once it is back."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from api.app import create_app
from contracts.ids import incident_workflow_id
from settings import Settings
from simulators.server import free_port
from stack import devserver
from stack.supervisor import port_in_use
from store import Store
from tests.api.test_webhooks import SECRET, body_for, signed
from tests.apps import AppTransport
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio


class DevServer:
    """A real dev server process on a fixed port and database file, stoppable at will."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.db = data / "temporal.db"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        command = devserver.dev_server_command(
            port=self.port, ui_port=free_port(), db_file=self.db, headless=True
        )
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        async def healthy() -> bool | None:
            # The port opens before the frontend serves: "Frontend is not healthy yet".
            if not port_in_use("127.0.0.1", self.port):
                return None
            try:
                await Client.connect(f"127.0.0.1:{self.port}")
            except RuntimeError:
                return None
            return True

        await eventually(healthy, seconds=60, interval=0.1, message="the dev server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevServer]:
    found = DevServer(tmp_path)
    yield found
    found.stop()


async def test_503_while_temporal_is_down_then_accepted(server: DevServer, tmp_path: Path) -> None:
    await server.start()
    settings = Settings(
        data_dir=tmp_path / "data",
        temporal_address=f"127.0.0.1:{server.port}",
        incident_io_webhook_secret=SecretStr(SECRET),
        admin_token=SecretStr("admin-token-for-this-test-0123"),
        definitions_dir=tmp_path / "none",
    )
    store = Store.from_settings(settings)
    await store.migrate()
    app = create_app(settings, store=store)
    transport = AppTransport(app=app)
    incident_id = f"01{uuid.uuid4().hex[:10].upper()}"
    first, second = (
        body_for(incident_id),
        body_for(incident_id, "public_incident.incident_updated_v2"),
    )
    first_headers, second_headers = (
        signed(first, msg_id="msg_before"),
        signed(second, msg_id="msg_during"),
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://rensei.test") as client:
        url = "/api/webhooks/ingest/incident-io"
        assert (await client.post(url, content=first, headers=first_headers)).status_code == 200
        server.stop()
        started = asyncio.get_running_loop().time()
        down = await client.post(url, content=second, headers=second_headers)
        elapsed = asyncio.get_running_loop().time() - started
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.json() == {
            "error": "Temporal is unavailable; the event was not accepted, please retry"
        }
        assert elapsed < 10
        await server.start()

        async def redelivered() -> httpx.Response | None:
            # incident.io keeps retrying the same delivery until it is accepted
            retry = await client.post(url, content=second, headers=second_headers)
            return retry if retry.status_code == 200 else None

        retry = await eventually(redelivered, seconds=20, interval=0.2)
        assert retry.status_code == 200
        temporal = await app.state.temporal.get()
        history = await temporal.get_workflow_handle(
            incident_workflow_id("default", incident_id)
        ).fetch_history()
        delivered = [
            json.loads(e.workflow_execution_signaled_event_attributes.input.payloads[0].data)[
                "webhook_id"
            ]
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        assert delivered == ["msg_before", "msg_during"]
    await store.close()
