"""``http.request`` against a local sink on 127.0.0.1: allowlist, secrets, retries, redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.catalogue import default_catalogue
from activities.credentials import ChainedCredentials, StaticCredentials
from activities.http import MAX_RESPONSE, HttpActivities, host_allowed
from interpreter.compiler import check_text
from simulators.server import serve
from tests.activities.conftest import node_call

TOKEN = "s3cr3t-runbook-token"


@dataclass
class Sink:
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)


def sink_app(seen: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo", methods=["GET", "POST", "PUT"])
    async def echo(request: Request) -> JSONResponse:
        body = (await request.body()).decode()
        seen.append({"method": request.method, "headers": dict(request.headers), "body": body})
        return JSONResponse({"ok": True, "body": body}, headers={"set-cookie": "a=b"})

    @app.get("/status/{code}")
    async def status(code: int) -> Response:
        seen.append({"status": code})
        headers = {"retry-after": "7"} if code == 429 else {}
        return Response(f"status {code} " + "x" * 500, status_code=code, headers=headers)

    @app.get("/big")
    async def big() -> Response:
        return Response("y" * (MAX_RESPONSE * 2), media_type="text/plain")

    @app.get("/hop")
    async def hop() -> RedirectResponse:
        return RedirectResponse("/echo", status_code=302)

    @app.get("/away")
    async def away() -> RedirectResponse:
        return RedirectResponse("http://example.com/steal", status_code=302)

    return app


@pytest_asyncio.fixture
async def sink() -> AsyncIterator[Sink]:
    seen: list[dict[str, Any]] = []
    async with serve(sink_app(seen)) as url:
        yield Sink(url, seen)


def acts(http: httpx.AsyncClient, hosts: Sequence[str] = ("127.0.0.1",)) -> HttpActivities:
    secrets = StaticCredentials({("default", "http", "runbook"): TOKEN})

    async def allowed(workspace: str) -> Sequence[str]:
        return hosts

    return HttpActivities(ChainedCredentials([secrets]), http, allowed_hosts=allowed)


async def failure(env: ActivityEnvironment, a: HttpActivities, inputs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await env.run(a.request, node_call(inputs))
    return caught.value


@pytest.mark.asyncio
async def test_a_json_post_with_a_secret_header_and_an_idempotency_key(
    sink: Sink, http: httpx.AsyncClient, env: ActivityEnvironment
) -> None:
    inputs = {
        "method": "post",
        "url": f"{sink.url}/echo",
        "headers": {"Authorization": {"secretRef": "runbook", "prefix": "Bearer "}, "X-A": "1"},
        "json": {"incident": "INC-1"},
    }
    out = await env.run(acts(http).request, node_call(inputs, step_id="runbook", run="wf-9"))
    own_key = {"url": f"{sink.url}/echo", "headers": {"idempotency-key": "mine"}, "body": "hi"}
    await env.run(acts(http).request, node_call(own_key))
    request, second = sink.seen
    assert second["headers"]["idempotency-key"] == "mine" and second["body"] == "hi"
    assert second["headers"]["content-type"] == "text/plain; charset=utf-8"
    assert request["method"] == "POST"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["idempotency-key"] == "wf-9/runbook"
    assert request["headers"]["content-type"] == "application/json"
    assert out["status"] == 200 and out["json"] == {"ok": True, "body": '{"incident": "INC-1"}'}
    assert "set-cookie" not in out["headers"] and TOKEN not in str(out)


@pytest.mark.asyncio
async def test_hosts_outside_the_allowlist_are_refused_before_any_request(
    sink: Sink, http: httpx.AsyncClient, env: ActivityEnvironment
) -> None:
    error = await failure(env, acts(http, hosts=()), {"url": f"{sink.url}/echo"})
    assert error.non_retryable and "127.0.0.1 is not in the HTTP allowlist" in str(error)
    assert sink.seen == []
    loopback = HttpActivities(ChainedCredentials([]), http, loopback=True)
    assert (await env.run(loopback.request, node_call({"url": f"{sink.url}/echo"})))[
        "status"
    ] == 200


def test_allowlist_entries_match_hosts_and_subdomains() -> None:
    assert host_allowed("status.example.com", ["status.example.com"], loopback=False)
    assert host_allowed("a.example.com", ["*.example.com"], loopback=False)
    assert not host_allowed("example.com", ["*.example.com"], loopback=False)
    assert not host_allowed("evil-example.com", ["*.example.com"], loopback=False)
    assert not host_allowed("127.0.0.1", [], loopback=False)


@pytest.mark.asyncio
async def test_server_errors_and_429_are_retryable_other_4xx_fail_fast(
    sink: Sink, http: httpx.AsyncClient, env: ActivityEnvironment
) -> None:
    a = acts(http)
    busy = await failure(env, a, {"url": f"{sink.url}/status/429"})
    assert not busy.non_retryable and busy.next_retry_delay == timedelta(seconds=7)
    down = await failure(env, a, {"url": f"{sink.url}/status/503"})
    assert not down.non_retryable and down.type == "ProviderUnavailableError"
    refused = await failure(env, a, {"url": f"{sink.url}/status/422?token=abc"})
    assert refused.non_retryable and refused.type == "InvalidRequestError"
    message = refused.message
    assert message.startswith(f"GET {sink.url}/status/422 answered HTTP 422: status 422 xxx")
    assert "token=abc" not in message and len(message) < 300
    expected = {"url": f"{sink.url}/status/404", "expectedStatus": [404]}
    assert (await env.run(a.request, node_call(expected)))["status"] == 404


@pytest.mark.asyncio
async def test_answers_are_bounded_and_redirects_stay_on_the_host(
    sink: Sink, http: httpx.AsyncClient, env: ActivityEnvironment
) -> None:
    a = acts(http, hosts=("127.0.0.1", "example.com"))
    big = await env.run(a.request, node_call({"url": f"{sink.url}/big"}))
    assert big["truncated"] is True and len(big["text"]) == MAX_RESPONSE
    hopped = await env.run(a.request, node_call({"url": f"{sink.url}/hop"}))
    assert hopped["status"] == 200 and hopped["url"] == f"{sink.url}/echo"
    away = await failure(env, a, {"url": f"{sink.url}/away"})
    assert away.non_retryable and "redirects to another host are not followed" in str(away)


@pytest.mark.asyncio
async def test_a_missing_secret_names_the_reference(
    sink: Sink, http: httpx.AsyncClient, env: ActivityEnvironment
) -> None:
    inputs = {"url": f"{sink.url}/echo", "headers": {"X-Key": {"secretRef": "nope"}}}
    error = await failure(env, acts(http), inputs)
    assert error.non_retryable and "no HTTP secret named 'nope'" in str(error)
    assert sink.seen == []


def test_definitions_check_the_node_inputs() -> None:
    good = """trigger: {type: trigger.incident_io.incident.created}
steps:
  - id: call
    type: http.request
    inputs:
      method: POST
      url: "https://runbooks.example.com/run"
      headers: {Authorization: {secretRef: runbook, prefix: "Bearer "}}
      json: {incident: "{{ $trigger.incident_io.incident_id }}"}
      timeout: 10s
      expectedStatus: [200, 202]
  - id: after
    type: debug.echo
    inputs: {status: "{{ $steps.call.status }}", data: "{{ $steps.call.json }}"}
"""
    assert check_text(good, file="ok.yaml", catalogue=default_catalogue()) == []
    bad = good.replace("timeout: 10s", "timeout: 10m").replace("[200, 202]", "[700]")
    rendered = [d.render() for d in check_text(bad, file="bad.yaml", catalogue=default_catalogue())]
    assert any("at most 120s" in line for line in rendered)
    assert any("700 is not an HTTP status" in line for line in rendered)
