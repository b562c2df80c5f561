"""The client's transport edges: 429 waits, Retry-After forms, 5xx, timeouts."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.errors import ProviderUnavailableError, RateLimitedError
from activities.incident_io.budget import CallBudget, CatalogueCache
from activities.incident_io.client import IncidentIoClient
from simulators.incident_io import SANDBOX_TOKEN
from tests.activities.incident_io.conftest import Env, activities_for

pytestmark = pytest.mark.asyncio

GET = {"incidentId": "INC-2"}


async def test_a_short_retry_after_is_waited_out_inside_the_attempt(env: Env) -> None:
    env.state.faults.force_429, env.state.faults.retry_after = 2, 0
    out = await env.run(env.nodes.get, GET)
    assert out["reference"] == "INC-2"
    assert [r.status for r in env.state.requests][:3] == [429, 429, 200]


async def test_a_long_retry_after_fails_the_attempt_with_that_delay(env: Env) -> None:
    env.state.faults.force_429, env.state.faults.retry_after = 1, 45
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.get, GET)
    assert info.value.type == "RateLimitedError" and not info.value.non_retryable
    assert info.value.next_retry_delay is not None
    assert info.value.next_retry_delay.total_seconds() == 45


async def test_the_inline_wait_limit_is_configurable(env: Env) -> None:
    nodes = activities_for(env.url, env.http, max_inline_wait=0.5)
    env.state.faults.force_429, env.state.faults.retry_after = 1, 1
    with pytest.raises(ApplicationError) as info:
        await env.run(nodes.get, GET)
    assert info.value.type == "RateLimitedError"


def _mock(responses: list[httpx.Response]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {SANDBOX_TOKEN}"
        return responses.pop(0)

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def _too_many(headers: dict[str, str], body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.Response(
        429,
        headers=headers,
        json={"type": "too_many_requests", "status": 429, "request_id": "req-429", "errors": []}
        | (body or {}),
    )


async def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    async with _mock([_too_many({"Retry-After": when})]) as http:
        client = IncidentIoClient(http, base_url="http://io", token=SANDBOX_TOKEN)
        with pytest.raises(RateLimitedError) as info:
            await client.get_incident("1")
    assert info.value.retry_after is not None and 110 < info.value.retry_after <= 120
    assert info.value.request_id == "req-429"


async def test_retry_after_from_the_body_when_the_header_is_missing() -> None:
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 90))
    async with _mock([_too_many({}, {"rate_limit": {"retry_after": later}})]) as http:
        client = IncidentIoClient(http, base_url="http://io", token=SANDBOX_TOKEN)
        with pytest.raises(RateLimitedError) as info:
            await client.get_incident("1")
    assert info.value.retry_after is not None and 80 < info.value.retry_after <= 90


async def test_a_date_retry_after_in_the_near_future_is_waited_out() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    soon = email.utils.formatdate(time.time() + 2, usegmt=True)
    ok = httpx.Response(200, json={"identity": {"name": "k", "roles": []}})
    async with _mock([_too_many({"Retry-After": soon}), ok]) as http:
        client = IncidentIoClient(http, base_url="http://io", token=SANDBOX_TOKEN, sleep=sleep)
        assert (await client.identity()).name == "k"
    assert slept and sum(slept) <= 2.0


async def test_5xx_is_retryable_then_succeeds(env: Env) -> None:
    env.state.faults.force_errors, env.state.faults.status = 1, 503
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.get, GET)
    assert info.value.type == "ProviderUnavailableError" and not info.value.non_retryable
    assert "HTTP 503" in info.value.message
    assert (await env.run(env.nodes.get, GET))["reference"] == "INC-2"


async def test_a_slow_provider_times_out_as_retryable(env: Env) -> None:
    env.state.faults.latency_ms = 500
    async with httpx.AsyncClient(timeout=0.1) as http:
        nodes = activities_for(env.url, http)
        with pytest.raises(ApplicationError) as info:
            await env.run(nodes.get, GET)
    assert info.value.type == "ProviderUnavailableError" and not info.value.non_retryable
    assert "did not answer in time" in info.value.message


async def test_a_connection_failure_is_retryable() -> None:
    async with httpx.AsyncClient(timeout=1) as http:
        client = IncidentIoClient(http, base_url="http://127.0.0.1:1", token=SANDBOX_TOKEN)
        with pytest.raises(ProviderUnavailableError) as info:
            await client.identity()
    assert SANDBOX_TOKEN not in str(info.value)


async def test_pagination_follows_the_cursor(env: Env) -> None:
    for n in range(7):
        env.state.create_incident(f"page {n}")
    client = IncidentIoClient(env.http, base_url=env.url, token=SANDBOX_TOKEN)
    found = await client.paginate("/v2/incidents", "incidents", dict_model(), page_size=3)
    assert len(found) == 11
    assert env.requests("/v2/incidents") == 4


def dict_model() -> Any:
    from activities.incident_io.models import Incident

    return Incident


async def test_the_catalogue_cache_expires_after_its_ttl(env: Env) -> None:
    now = [0.0]
    cache = CatalogueCache(ttl=60, clock=lambda: now[0])
    client = IncidentIoClient(
        env.http, base_url=env.url, token=SANDBOX_TOKEN, catalogue_cache=cache
    )
    await client.severities()
    now[0] = 59
    await client.severities()
    assert env.requests("/v1/severities") == 1
    now[0] = 61
    await client.severities()
    assert env.requests("/v1/severities") == 2


async def test_the_call_budget_paces_calls_per_workspace() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    budget = CallBudget(per_minute=60, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await budget.acquire(("u", "a"))
    await budget.acquire(("u", "b"))
    assert waits == [1.0, 1.0]  # 1/s after a burst of 2; workspace b has its own bucket


async def test_the_default_budget_is_incident_ios_limit_less_the_headroom() -> None:
    from settings import Settings
    from worker import incident_io_activities

    settings = Settings()
    assert settings.incident_io_requests_per_minute == 1200  # incident.io's documented limit
    assert settings.incident_io_call_budget_per_minute == pytest.approx(1080)
    assert settings.incident_io_activities_per_second == pytest.approx(18)
    async with httpx.AsyncClient() as http:
        nodes = incident_io_activities(settings, http=http)
    assert nodes._budget is not None and nodes._budget.rate == pytest.approx(1080 / 60)
