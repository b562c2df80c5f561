"""POST /api/webhooks/ingest/incident-io: signatures, envelopes, and Temporal's acceptance."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from standardwebhooks import Webhook
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from contracts.ids import incident_workflow_id
from settings import Settings
from store import Store
from tests.api.conftest import ADMIN
from tests.apps import AppTransport

pytestmark = pytest.mark.asyncio

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="


def body_for(incident_id: str, event_type: str = "public_incident.incident_created_v2") -> bytes:
    incident = {"id": incident_id, "reference": "INC-1", "name": "API down"}
    if event_type.startswith("private_"):
        incident = {"id": incident_id}
    inner: dict[str, Any] = incident
    if event_type.endswith("status_updated_v2"):
        inner = {"incident": incident, "previous_status": {}, "new_status": {}}
    return json.dumps({"event_type": event_type, event_type: inner}).encode()


def signed(
    body: bytes, *, secret: str = SECRET, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


@pytest_asyncio.fixture
async def ingest_app(settings: Settings, store: Store, dev_env: WorkflowEnvironment) -> FastAPI:
    settings = settings.model_copy(update={"incident_io_webhook_secret": SecretStr(SECRET)})
    await store.ensure_workspace("acme")
    await store.put_credential("acme", "incident_io", "webhook_secret", OTHER_SECRET)
    return create_app(settings, store=store, client=dev_env.client)


@pytest_asyncio.fixture
async def client(ingest_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = AppTransport(app=ingest_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rensei.test") as c:
        yield c


async def signals(temporal: Client, workspace: str, incident_id: str) -> list[str]:
    handle = temporal.get_workflow_handle(incident_workflow_id(workspace, incident_id))
    history = await handle.fetch_history()
    found = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            payload = event.workflow_execution_signaled_event_attributes.input.payloads[0]
            found.append(json.loads(payload.data)["webhook_id"])
    return found


async def test_a_signed_delivery_reaches_the_incident_workflow(
    client: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    incident_id = f"01{uuid.uuid4().hex[:10].upper()}"
    body = body_for(incident_id)
    headers = signed(body, msg_id="msg_first")
    response = await client.post("/api/webhooks/ingest/incident-io", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "accepted",
        "incident_id": incident_id,
        "event_type": "public_incident.incident_created_v2",
    }
    again = await client.post("/api/webhooks/ingest/incident-io", content=body, headers=headers)
    assert again.status_code == 200  # a redelivery is accepted; the workflow ignores its webhook-id
    assert await signals(dev_env.client, "default", incident_id) == ["msg_first", "msg_first"]


@pytest.mark.parametrize(
    "event_type",
    [
        "public_incident.incident_updated_v2",
        "public_incident.incident_status_updated_v2",
        "private_incident.incident_created_v2",
        "private_incident.incident_updated_v2",
    ],
)
async def test_every_incident_event_type_is_a_hint(
    client: httpx.AsyncClient, dev_env: WorkflowEnvironment, event_type: str
) -> None:
    incident_id = f"01{uuid.uuid4().hex[:10].upper()}"
    body = body_for(incident_id, event_type)
    response = await client.post(
        "/api/webhooks/ingest/incident-io", content=body, headers=signed(body)
    )
    assert response.status_code == 200
    assert len(await signals(dev_env.client, "default", incident_id)) == 1


async def test_the_spec_examples_are_accepted(client: httpx.AsyncClient) -> None:
    candidates = [
        os.environ.get("INCIDENT_IO_OPENAPI", ""),
        str(Path(__file__).parents[3] / "shared" / "incident-io" / "openapi.json"),
    ]
    spec_path = next((p for p in candidates if p and Path(p).is_file()), None)
    if spec_path is None:
        pytest.skip(
            "incident.io OpenAPI spec not found: set INCIDENT_IO_OPENAPI or place shared/incident-io/openapi.json beside the repository"
        )
    spec = json.loads(Path(spec_path).read_text())
    hooks = spec["x-webhooks"]
    checked = 0
    for name in (
        "public_incident.incident_created_v2",
        "public_incident.incident_status_updated_v2",
        "private_incident.incident_updated_v2",
        "public_escalation.escalation_status_updated_v1",
    ):
        entry = hooks[f"/x-webhooks/{name}"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]
        example = entry["example"]
        body = json.dumps(example).encode()
        response = await client.post(
            "/api/webhooks/ingest/incident-io", content=body, headers=signed(body)
        )
        expected = "ignored" if name.startswith("public_escalation") else "accepted"
        assert response.status_code == 200, (name, response.text)
        assert response.json()["status"] == expected
        checked += 1
    assert checked == 4


async def test_refusals_start_nothing(
    client: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    incident_id = f"01{uuid.uuid4().hex[:10].upper()}"
    body = body_for(incident_id)
    stale = signed(body, at=datetime.now(UTC) - timedelta(minutes=6))
    wrong = signed(body, secret=OTHER_SECRET)
    tampered = signed(body)
    missing = {k: v for k, v in signed(body).items() if k != "webhook-signature"}
    garbage = signed(body) | {"webhook-signature": "garbage"}
    cases = [
        (body, stale, 401, "signature verification failed: Message timestamp too old"),
        (body, wrong, 401, "signature verification failed: No matching signature found"),
        (
            body.replace(b"API down", b"API up"),
            tampered,
            401,
            "signature verification failed: No matching signature found",
        ),
        (body, missing, 401, "signature verification failed: missing header(s): webhook-signature"),
        (body, garbage, 401, "signature verification failed: malformed signature header"),
    ]
    for content, headers, status, error in cases:
        response = await client.post(
            "/api/webhooks/ingest/incident-io", content=content, headers=headers
        )
        assert (response.status_code, response.json()["error"]) == (status, error)
    with pytest.raises(RPCError):
        await dev_env.client.get_workflow_handle(
            incident_workflow_id("default", incident_id)
        ).describe()


async def test_several_signatures_one_valid_is_enough(client: httpx.AsyncClient) -> None:
    body = body_for(f"01{uuid.uuid4().hex[:10].upper()}")
    headers = signed(body)
    headers["webhook-signature"] = (
        f"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {headers['webhook-signature']}"
    )
    response = await client.post("/api/webhooks/ingest/incident-io", content=body, headers=headers)
    assert response.status_code == 200


async def test_malformed_bodies_and_other_events(client: httpx.AsyncClient) -> None:
    for content, status, error in [
        (b"{not json", 400, "the body is not JSON"),
        (b'{"hello": 1}', 400, "expected an incident.io envelope"),
        (
            b'{"event_type": "public_incident.incident_created_v2"}',
            400,
            "expected an incident.io envelope",
        ),
        (
            b'{"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {}}',
            400,
            "the public_incident.incident_created_v2 payload has no incident id",
        ),
    ]:
        response = await client.post(
            "/api/webhooks/ingest/incident-io", content=content, headers=signed(content)
        )
        assert response.status_code == status
        assert response.json()["error"].startswith(error)
    other = b'{"event_type": "public_alert.alert_created_v1", "public_alert.alert_created_v1": {"id": "a1"}}'
    response = await client.post(
        "/api/webhooks/ingest/incident-io", content=other, headers=signed(other)
    )
    assert response.json() == {"status": "ignored", "event_type": "public_alert.alert_created_v1"}


async def test_a_workspace_only_accepts_its_own_secret(
    client: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    incident_id = f"01{uuid.uuid4().hex[:10].upper()}"
    body = body_for(incident_id)
    response = await client.post(
        "/api/webhooks/ingest/incident-io/acme", content=body, headers=signed(body, secret=SECRET)
    )
    assert response.status_code == 401
    response = await client.post(
        "/api/webhooks/ingest/incident-io/acme",
        content=body,
        headers=signed(body, secret=OTHER_SECRET),
    )
    assert response.status_code == 200
    assert len(await signals(dev_env.client, "acme", incident_id)) == 1
    with pytest.raises(RPCError):
        await dev_env.client.get_workflow_handle(
            incident_workflow_id("default", incident_id)
        ).describe()
    response = await client.post(
        "/api/webhooks/ingest/incident-io/nobody", content=body, headers=signed(body)
    )
    assert (response.status_code, response.json()) == (
        401,
        {"error": "signature verification failed: No matching signature found"},
    )


async def test_webhooks_need_no_admin_token_but_definitions_do(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/workflows")
    assert response.status_code == 401
    response = await client.get("/api/workflows", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 200


async def test_a_rotated_secret_works_at_once(client: httpx.AsyncClient, store: Store) -> None:
    body = body_for(f"01{uuid.uuid4().hex[:10].upper()}")
    url = "/api/webhooks/ingest/incident-io/acme"
    assert (
        await client.post(url, content=body, headers=signed(body, secret=OTHER_SECRET))
    ).status_code == 200
    rotated = "whsec_" + "cm90YXRlZC1zZWNyZXQtZm9yLWFjbWUtMDEyMzQ1"
    await store.put_credential("acme", "incident_io", "webhook_secret", rotated)
    assert (
        await client.post(url, content=body, headers=signed(body, secret=rotated))
    ).status_code == 200
    old = await client.post(url, content=body, headers=signed(body, secret=OTHER_SECRET))
    assert old.status_code == 401


async def test_deliveries_use_the_cached_secret(
    client: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[str, str, str]] = []
    original = store.get_credential

    async def counted(workspace: str, kind: str, name: str) -> str | None:
        reads.append((workspace, kind, name))
        return await original(workspace, kind, name)

    monkeypatch.setattr(store, "get_credential", counted)
    url = "/api/webhooks/ingest/incident-io/acme"
    for _ in range(3):
        body = body_for(f"01{uuid.uuid4().hex[:10].upper()}")
        response = await client.post(url, content=body, headers=signed(body, secret=OTHER_SECRET))
        assert response.status_code == 200
    assert reads == [("acme", "incident_io", "webhook_secret")]


async def test_workspaces_without_a_secret_are_not_cached(
    client: httpx.AsyncClient, ingest_app: FastAPI
) -> None:
    for number in range(3):
        body = body_for(f"01{uuid.uuid4().hex[:10].upper()}")
        url = f"/api/webhooks/ingest/incident-io/nobody-{number}"
        assert (await client.post(url, content=body, headers=signed(body))).status_code == 401
    assert ingest_app.state.webhook_secrets._entries == {}
