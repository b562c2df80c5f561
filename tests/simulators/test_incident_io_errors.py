"""Errors, rate limits, fault injection, /_sim inspection and escalation responses."""

from __future__ import annotations

import time

import pytest

from simulators.incident_io import SANDBOX_TOKEN, VIEWER_TOKEN, SimulatorConfig
from simulators.incident_io import seed as s
from simulators.incident_io.ratelimit import RateLimiter
from tests.simulators.conftest import Sim, bearer, running_sim

pytestmark = pytest.mark.asyncio


async def test_authentication_errors(sim: Sim) -> None:
    missing = await sim.client.get("/v2/incidents", headers={"Authorization": ""})
    assert missing.status_code == 401
    body = missing.json()
    assert body["type"] == "authentication_error" and body["status"] == 401
    assert body["errors"] == [
        {
            "code": "missing_authorization_material",
            "message": "No authorization material provided in request",
        }
    ]
    wrong = await sim.client.get("/v2/incidents", headers=bearer("inc_" + "0" * 64))
    assert wrong.status_code == 401 and wrong.json()["type"] == "authentication_error"
    assert "x-ratelimit-limit" not in wrong.headers  # no key, so no allowance to report
    other = (await sim.client.get("/v1/identity", headers={"Authorization": ""})).json()
    assert other["request_id"] != body["request_id"]


async def test_missing_scope_is_403_with_metadata(sim: Sim) -> None:
    response = await sim.client.post(
        "/v2/escalations",
        headers=bearer(VIEWER_TOKEN),
        json={"idempotency_key": "k", "title": "t", "user_ids": [s.USER_BOB]},
    )
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "resource_forbidden"
    assert body["errors"] == [
        {
            "code": "missing_required_scope",
            "message": "missing a required scope: escalations.create",
            "metadata": {"scope": "escalations.create"},
        }
    ]
    identity = (await sim.client.get("/v1/identity", headers=bearer(VIEWER_TOKEN))).json()
    assert identity["identity"]["roles"] == ["viewer"]


async def test_not_found_and_validation_bodies(sim: Sim) -> None:
    missing = await sim.client.get("/v2/incidents/99999")
    assert missing.status_code == 404
    assert (
        missing.json()["type"] == "not_found" and "99999" in missing.json()["errors"][0]["message"]
    )
    route = await sim.client.get("/v2/nothing-here")
    assert route.status_code == 404 and route.json()["type"] == "not_found"
    invalid = await sim.client.post(
        "/v2/incidents/1/actions/edit", json={"incident": {"name": "x"}}
    )
    assert invalid.status_code == 422
    error = invalid.json()["errors"][0]
    assert error["code"] == "is_required"
    assert error["source"]["field"] == "notify_incident_channel"


async def test_rate_limit_bucket_and_headers() -> None:
    async with running_sim(SimulatorConfig(rate_limit_per_minute=3)) as sim:
        sim.state.limiter = RateLimiter(clock=lambda: 0.0)  # no refill during the test
        remaining = []
        for _ in range(3):
            ok = await sim.client.get("/v1/severities")
            assert ok.status_code == 200
            assert ok.headers["x-ratelimit-limit"] == "3, 3;window=60"
            assert int(ok.headers["x-ratelimit-reset"]) >= int(time.time())
            remaining.append(int(ok.headers["x-ratelimit-remaining"]))
        assert remaining == [2, 1, 0]
        limited = await sim.client.get("/v1/severities")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "20"  # 1 token at 3/min takes 20 s
        body = limited.json()
        assert body["type"] == "too_many_requests"
        assert body["errors"][0]["code"] == "too_many_requests"
        assert body["rate_limit"]["name"] == "rensei sandbox"
        assert body["rate_limit"]["limit"] == 3 and body["rate_limit"]["remaining"] == 0
        # Buckets are per key: the viewer key still has its allowance.
        other = await sim.client.get("/v1/severities", headers=bearer(VIEWER_TOKEN))
        assert other.status_code == 200


async def test_escalations_have_their_own_60_per_minute_limit(sim: Sim) -> None:
    sim.state.limiter = RateLimiter(clock=lambda: 0.0)  # no refill during the test
    statuses = []
    for n in range(61):
        response = await sim.client.post(
            "/v2/escalations",
            json={"idempotency_key": f"e{n}", "title": "page", "user_ids": [s.USER_BOB]},
        )
        statuses.append(response.status_code)
    assert statuses[:60] == [201] * 60 and statuses[60] == 429
    assert response.headers["x-ratelimit-limit"].startswith("60, 1200;window=60, 60;window=60")
    assert response.json()["rate_limit"]["limit"] == 60
    assert (await sim.client.get("/v2/escalations")).status_code == 200


async def test_fault_injection_over_http(sim: Sim) -> None:
    configured = await sim.client.post("/_sim/faults", json={"force_429": 2, "retry_after": 7})
    assert configured.json()["faults"]["force_429"] == 2
    first = await sim.client.get("/v1/severities")
    second = await sim.client.get("/v1/severities")
    third = await sim.client.get("/v1/severities")
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["retry-after"] == "7"
    assert first.json()["rate_limit"]["name"] == "rensei sandbox"

    await sim.client.post("/_sim/faults", json={"error_rate": 1.0, "status": 503})
    failed = await sim.client.get("/v1/severities")
    assert failed.status_code == 503 and failed.json()["type"] == "api_error"
    await sim.client.delete("/_sim/faults")

    sim.state.faults.latency_ms = 50
    started = time.monotonic()
    assert (await sim.client.get("/v1/severities")).status_code == 200
    assert time.monotonic() - started >= 0.05
    sim.state.faults.clear()

    bad = await sim.client.post("/_sim/faults", json={"error_rate": 2})
    assert bad.status_code == 422


async def test_requests_are_recorded_without_tokens(sim: Sim) -> None:
    await sim.client.get("/v2/incidents", params={"page_size": 1})
    await sim.client.get("/v1/identity", headers=bearer(VIEWER_TOKEN))
    response = await sim.client.get("/_sim/requests")
    assert SANDBOX_TOKEN not in response.text and VIEWER_TOKEN not in response.text
    requests = response.json()["requests"]
    assert [(r["method"], r["path"], r["key_name"], r["status"]) for r in requests] == [
        ("GET", "/v2/incidents", "rensei sandbox", 200),
        ("GET", "/v1/identity", "rensei read-only", 200),
    ]
    assert requests[0]["query"] == "page_size=1"


async def test_escalation_responses(sim: Sim) -> None:
    incident = sim.state.create_incident("Checkout down", status_id=s.STATUS_DOCUMENTING)
    created = await sim.client.post(
        "/v2/escalations",
        json={
            "idempotency_key": "esc",
            "title": "Checkout down",
            "escalation_path_id": s.PATH_PLATFORM,
            "incident_id": incident.id,
        },
    )
    escalation = created.json()["escalation"]
    assert escalation["status"] == "triggered"
    assert escalation["related_incidents"][0]["status_category"] == "post-incident"
    notified = escalation["events"][1]
    assert notified["event"] == "notified_users"
    assert [u["name"] for u in notified["users"]] == ["Alice Ortega", "Bob Nakamura"]
    repeat = await sim.client.post(
        "/v2/escalations",
        json={"idempotency_key": "esc", "title": "again", "user_ids": [s.USER_BOB]},
    )
    assert repeat.json()["escalation"]["id"] == escalation["id"]

    url = f"/v2/escalations/{escalation['id']}/actions/respond"
    nack = await sim.client.post(url, json={"response": "nack"})
    assert nack.status_code == 422 and "cannot nack" in nack.json()["errors"][0]["message"]
    ack = await sim.client.post(url, json={"response": "ack"})
    assert ack.status_code == 200 and ack.content == b""
    shown = (await sim.client.get(f"/v2/escalations/{escalation['id']}")).json()["escalation"]
    assert shown["status"] == "acked"
    assert [e["event"] for e in shown["events"]] == ["triggered", "notified_users", "acked"]
    neither = await sim.client.post("/v2/escalations", json={"idempotency_key": "n", "title": "x"})
    assert neither.status_code == 422
    unknown = await sim.client.post(
        "/v2/escalations/nope/actions/respond", json={"response": "ack"}
    )
    assert unknown.status_code == 404
    filtered = await sim.client.get("/v2/escalations", params={"status[one_of]": "triggered"})
    assert filtered.json()["escalations"] == []
