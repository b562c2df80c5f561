"""Hostile webhook deliveries: bounded reads, signature first, bounded JSON, ids checked, no 5xx."""

from __future__ import annotations

import asyncio
import json
import resource
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import Client

import activities.definitions as definitions_module
from api import limits
from api.app import create_app
from api.routes import webhooks
from interpreter import bounded
from interpreter import limits as interpreter_limits
from settings import Settings
from store import Store
from tests.api.conftest import ADMIN
from tests.api.test_webhooks import OTHER_SECRET, SECRET, body_for, signed
from tests.apps import AppTransport
from tests.interpreter.test_bounded import sleepy_catalogue
from tests.interpreter.test_limits import HEAD, billion_laughs

pytestmark = pytest.mark.asyncio
URL = "/api/webhooks/ingest/incident-io"
CHUNK = 64 * 1024
VALID = (Path(__file__).parents[2] / "examples" / "route-by-severity.yaml").read_text()


class Signals:
    """Stands in for signal-with-start: records what would have been started."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []

    async def __call__(
        self, _client: Any, workspace: str, incident_id: str, *_: Any, **__: Any
    ) -> None:
        self.started.append((workspace, incident_id))


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Signals:
    recorder = Signals()
    monkeypatch.setattr(webhooks, "signal_incident", recorder)
    return recorder


@pytest_asyncio.fixture
async def client(
    settings: Settings, store: Store, started: Signals
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings.model_copy(update={"incident_io_webhook_secret": SecretStr(SECRET)})
    await store.ensure_workspace("acme")
    await store.put_credential("acme", "incident_io", "webhook_secret", OTHER_SECRET)
    app: FastAPI = create_app(settings, store=store, client=cast(Client, HealthyTemporal()))
    transport = AppTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rensei.test") as c:
        yield c


class HealthyTemporal:
    """Stands in for a Temporal client: answers the health check that /healthz makes."""

    class service_client:
        @staticmethod
        async def check_health() -> bool:
            return True


class Counted:
    """A streamed body that counts how much of it the server pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield b"x" * CHUNK


async def test_a_valid_delivery_is_still_accepted(
    client: httpx.AsyncClient, started: Signals
) -> None:
    body = body_for("01FDAG4SAP5TYPT98WGR2N7W91")
    response = await client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert started.started == [("default", "01FDAG4SAP5TYPT98WGR2N7W91")]


async def test_a_huge_chunked_body_is_refused_while_streaming(client: httpx.AsyncClient) -> None:
    body = Counted(300 * 1024 * 1024)
    response = await client.post(URL, content=body)  # no Content-Length: chunked
    assert response.status_code == 413
    assert response.json() == {"error": f"the body is larger than {limits.MAX_WEBHOOK_BODY} bytes"}
    assert body.sent <= limits.MAX_WEBHOOK_BODY + CHUNK


async def test_a_declared_length_past_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    body = Counted(300 * 1024 * 1024)
    headers = {"content-length": str(body.total)}
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 413
    assert body.sent == 0


async def test_a_signed_body_past_the_limit_is_413(
    client: httpx.AsyncClient, started: Signals
) -> None:
    padding = "p" * (10 * 1024 * 1024)
    body = json.dumps(
        {
            "event_type": "public_incident.incident_created_v2",
            "public_incident.incident_created_v2": {
                "id": "01FDAG4SAP5TYPT98WGR2N7W91",
                "summary": padding,
            },
        }
    ).encode()
    response = await client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 413
    assert started.started == []


async def test_a_bad_content_length_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"{}", headers={"content-length": "-1"})
    assert response.status_code == 400


async def test_an_unsigned_body_is_refused_before_it_is_parsed(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"[" * 10_000)
    assert response.status_code == 401  # not 400: the body was never parsed


@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH + 1, 10_000, 100_000])
async def test_deep_signed_json_is_400(
    client: httpx.AsyncClient, depth: int, started: Signals
) -> None:
    inner = "[" * depth + "]" * depth
    body = (
        '{"event_type": "public_incident.incident_created_v2", '
        '"public_incident.incident_created_v2": {"id": "01FDAG4SAP5TYPT98WGR2N7W91", "x": '
        + inner
        + "}}"
    ).encode()
    response = await client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 400
    assert response.json() == {
        "error": f"the JSON is nested more than {limits.MAX_JSON_DEPTH} levels deep"
    }
    assert started.started == []


async def test_an_integer_past_the_digit_limit_is_400(client: httpx.AsyncClient) -> None:
    body = b'{"event_type": "x.y", "x.y": {"n": ' + b"9" * 5000 + b"}}"
    response = await client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "incident_id",
    [
        "x" * 100_000,
        "../../x\u2028\u0000",
        "../../v1/identity",
        "abc?x=1#frag",
        "01H/../..",
        " 01H",
    ],
)
async def test_hostile_incident_ids_are_400_and_start_nothing(
    client: httpx.AsyncClient, incident_id: str, started: Signals
) -> None:
    body = body_for(incident_id)
    response = await client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 400, response.text
    assert "is not a valid incident.io id" in response.json()["error"]
    assert len(response.text) < 400  # the id is not echoed whole
    assert started.started == []


async def test_an_unknown_workspace_gets_the_same_401_as_a_bad_signature(
    client: httpx.AsyncClient,
) -> None:
    body = body_for("01FDAG4SAP5TYPT98WGR2N7W91")
    headers = signed(body, secret=SECRET)
    wrong_secret = await client.post(f"{URL}/acme", content=body, headers=headers)
    for workspace in ("nobody", "x" * 500, "%E2%80%A8"):
        unknown = await client.post(f"{URL}/{workspace}", content=body, headers=headers)
        assert (unknown.status_code, unknown.json()) == (401, wrong_secret.json())
    assert wrong_secret.json() == {
        "error": "signature verification failed: No matching signature found"
    }


async def test_an_oversized_webhook_id_is_400(client: httpx.AsyncClient, started: Signals) -> None:
    body = body_for("01FDAG4SAP5TYPT98WGR2N7W91")
    response = await client.post(URL, content=body, headers=signed(body, msg_id="m" * 300))
    assert response.status_code == 400
    assert started.started == []


async def test_slack_interactions_without_slack_headers_are_401(
    client: httpx.AsyncClient, store: Store
) -> None:
    await store.put_credential(
        "default", "slack", "signing_secret", "8f742231b10e8888abcd99yyyzzz85a5"
    )
    for headers in ({}, {"x-slack-request-timestamp": "abc", "x-slack-signature": "v0=00"}):
        response = await client.post(
            "/api/webhooks/slack/interactions", content=b"payload=%7B%7D", headers=headers
        )
        assert response.status_code == 401, response.text


async def test_ingest_answers_while_a_costly_definition_is_checked(
    client: httpx.AsyncClient, started: Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check runs in a child process whose catalogue takes 60 s to build: a stand-in for
    # a definition that is expensive to check yet within every size limit.
    monkeypatch.setattr(definitions_module, "default_catalogue", sleepy_catalogue)
    monkeypatch.setattr(interpreter_limits, "CHECK_SECONDS", 3.0)
    in_flight = threading.Event()
    receive = bounded._receive

    def observed(reader: Any, seconds: float) -> Any:
        in_flight.set()
        return receive(reader, seconds)

    monkeypatch.setattr(bounded, "_receive", observed)
    put = asyncio.create_task(
        client.put(
            "/api/workflows/costly",
            content=VALID,
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
    )
    assert await asyncio.to_thread(in_flight.wait, 30)
    health = await client.get("/healthz")
    body = body_for("01FDAG4SAP5TYPT98WGR2N7W91")
    delivery = await client.post(URL, content=body, headers=signed(body))
    assert (health.status_code, delivery.status_code) == (200, 200)
    assert not put.done()  # both answered while the definition was still being checked
    refused = await put
    assert refused.status_code == 400
    assert refused.json()["diagnostics"] == [
        "costly.yaml:1:1: checking the definition took longer than 3 s; it was stopped "
        "(make the definition smaller or simpler)"
    ]
    assert started.started == [("default", "01FDAG4SAP5TYPT98WGR2N7W91")]


async def test_hostile_definitions_are_400_with_memory_flat(client: httpx.AsyncClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    bang = (
        HEAD
        + '  - id: a\n    type: debug.echo\n    inputs:\n      v: "{{ '
        + "!" * 1000
        + '$trigger }}"\n'
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    laughs = await client.put("/api/workflows/laughs", content=billion_laughs(), headers=admin)
    deep = await client.put("/api/workflows/bang", content=bang, headers=admin)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert (laughs.status_code, deep.status_code) == (400, 400)
    assert laughs.json()["diagnostics"][0].startswith("laughs.yaml:5:4: the definition expands")
    assert deep.json()["diagnostics"][0].startswith("bang.yaml:8:")
    assert "nested too deeply" in deep.json()["diagnostics"][0]
    assert grown_mib < 100  # the billion laughs once took this process past 6 GB
    too_big = await client.put("/api/workflows/big", content=b"a" * 300_000, headers=admin)
    assert too_big.status_code == 413


async def test_a_delivery_that_temporal_accepts_slowly_is_still_accepted(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under an incident storm the dev server took more than 4 s to accept signal-with-start;
    # a 503 then sends the delivery to the back of Svix's schedule (5 s, then 5 min).
    accepted: list[str] = []

    async def slow(_client: Any, _workspace: str, incident_id: str, *_: Any, **__: Any) -> None:
        await asyncio.sleep(5.0)  # the slow server itself: nothing to await instead
        accepted.append(incident_id)

    monkeypatch.setattr(webhooks, "signal_incident", slow)
    body = body_for("01FDAG4SAP5TYPT98WGR2N7W92")
    response = await client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert accepted == ["01FDAG4SAP5TYPT98WGR2N7W92"]
