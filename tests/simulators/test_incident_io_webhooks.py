"""Webhook deliveries: Standard Webhooks signatures, envelopes, private payloads, Svix retries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from standardwebhooks import Webhook

from simulators.incident_io import SimulatorConfig
from simulators.incident_io import seed as s
from simulators.incident_io.webhooks import RETRY_SCHEDULE
from tests.simulators.conftest import WEBHOOK_SECRET, Receiver, running_sim

pytestmark = pytest.mark.asyncio


def _config(receiver: Receiver, scale: float = 0.001) -> SimulatorConfig:
    return SimulatorConfig(
        webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET, schedule_scale=scale
    )


def _verified(receiver: Receiver) -> list[dict[str, Any]]:
    """Every received body, each checked with the official Standard Webhooks verifier."""
    verifier = Webhook(WEBHOOK_SECRET)
    bodies = []
    for headers, raw in receiver.calls:
        assert headers["webhook-id"].startswith("msg_")
        bodies.append(verifier.verify(raw, headers))
    return bodies


async def test_api_changes_send_signed_incident_events(receiver: Receiver) -> None:
    async with running_sim(_config(receiver)) as sim:
        created = await sim.client.post(
            "/v2/incidents",
            json={"idempotency_key": "w1", "visibility": "public", "name": "Login failures"},
        )
        incident_id = created.json()["incident"]["id"]
        await sim.client.post(
            f"/v2/incidents/{incident_id}/actions/edit",
            json={"notify_incident_channel": False, "incident": {"severity_id": s.SEVERITY_MAJOR}},
        )
        await sim.client.post(
            f"/v2/incidents/{incident_id}/actions/edit",
            json={
                "notify_incident_channel": False,
                "incident": {"incident_status_id": s.STATUS_CLOSED},
            },
        )
        await sim.state.webhooks.drain()
    events = _verified(receiver)
    assert [e["event_type"] for e in events] == [
        "public_incident.incident_created_v2",
        "public_incident.incident_updated_v2",  # severity only: no status event
        "public_incident.incident_updated_v2",
        "public_incident.incident_status_updated_v2",
    ]
    assert events[0]["public_incident.incident_created_v2"]["id"] == incident_id
    assert events[1]["public_incident.incident_updated_v2"]["severity"]["name"] == "Major"
    change = events[3]["public_incident.incident_status_updated_v2"]
    assert change["previous_status"]["name"] == "Investigating"
    assert change["new_status"]["name"] == "Closed"
    assert change["incident"]["incident_status"]["category"] == "closed"
    tampered = dict(receiver.calls[0][0])
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(WEBHOOK_SECRET).verify(receiver.calls[0][1] + b" ", tampered)


async def test_private_incidents_send_only_their_id(receiver: Receiver) -> None:
    async with running_sim(_config(receiver)) as sim:
        created = await sim.client.post(
            "/v2/incidents",
            json={"idempotency_key": "p1", "visibility": "private", "name": "Payroll leak"},
        )
        incident_id = created.json()["incident"]["id"]
        await sim.client.post(
            f"/v2/incidents/{incident_id}/actions/edit",
            json={
                "notify_incident_channel": False,
                "incident": {"incident_status_id": s.STATUS_CLOSED},
            },
        )
        await sim.state.webhooks.drain()
    assert _verified(receiver) == [
        {"event_type": "private_incident.incident_created_v2",
         "private_incident.incident_created_v2": {"id": incident_id}},
        {"event_type": "private_incident.incident_updated_v2",
         "private_incident.incident_updated_v2": {"id": incident_id}},
    ]  # fmt: skip


async def test_dashboard_actions_over_sim_routes_send_webhooks(receiver: Receiver) -> None:
    async with running_sim(SimulatorConfig(seed_incidents=False)) as sim:
        configured = await sim.client.post(
            "/_sim/webhooks/config", json={"url": receiver.url, "secret": WEBHOOK_SECRET}
        )
        assert configured.status_code == 200
        declared = await sim.client.post(
            "/_sim/incidents",
            json={
                "name": "Card declines",
                "user_id": s.USER_CHIDI,
                "incident_status_id": s.STATUS_TRIAGE,
            },
        )
        assert declared.status_code == 201
        incident = declared.json()["incident"]
        assert incident["creator"]["user"]["name"] == "Chidi Okafor"
        # A person may accept a triage incident, which the API itself refuses.
        accepted = await sim.client.post(
            f"/_sim/incidents/{incident['id']}/status",
            json={"incident_status_id": s.STATUS_INVESTIGATING, "message": "Accepted"},
        )
        assert accepted.json()["incident"]["incident_status"]["name"] == "Investigating"
        raised = await sim.client.post(
            f"/_sim/incidents/{incident['reference'][4:]}/severity",
            json={"severity_id": s.SEVERITY_EMERGENCY},
        )
        assert raised.json()["incident"]["severity"]["name"] == "Emergency"
        deliveries = (await sim.client.post("/_sim/webhooks/drain")).json()["deliveries"]
    assert [d["state"] for d in deliveries] == ["succeeded"] * 4
    events = _verified(receiver)
    assert [e["event_type"].split(".")[1] for e in events] == [
        "incident_created_v2",
        "incident_updated_v2",
        "incident_status_updated_v2",
        "incident_updated_v2",
    ]
    updated = events[1]["public_incident.incident_updated_v2"]
    assert updated["most_recent_update_message"] == "Accepted"
    assert updated["creator"]["user"]["id"] == s.USER_CHIDI


async def test_retries_follow_the_svix_schedule_with_the_same_message_id(
    receiver: Receiver,
) -> None:
    receiver.statuses = [500, 503]
    async with running_sim(_config(receiver, scale=0.001)) as sim:
        sim.state.create_incident("Flaky receiver", notify=True)
        await sim.state.webhooks.drain()
        delivery = sim.state.webhooks.deliveries[0]
    assert [(a.attempt, a.status_code) for a in delivery.attempts] == [(1, 500), (2, 503), (3, 204)]
    assert delivery.state == "succeeded"
    ids = {headers["webhook-id"] for headers, _ in receiver.calls}
    assert ids == {delivery.message_id}
    assert len(_verified(receiver)) == 3  # each attempt is signed afresh and verifies
    # Attempt 3 waits 5 min * 0.001 = 0.3 s after attempt 2; attempt 2 waits 5 ms.
    arrivals = receiver.arrivals
    assert arrivals[2] - arrivals[1] >= RETRY_SCHEDULE[2] * 0.001 * 0.95
    assert arrivals[1] - arrivals[0] < RETRY_SCHEDULE[2] * 0.001


async def test_delivery_gives_up_after_eight_attempts(receiver: Receiver) -> None:
    receiver.statuses = [500] * 10
    async with running_sim(_config(receiver, scale=0.000005)) as sim:
        sim.state.create_incident("Always failing", notify=True)
        await sim.state.webhooks.drain()
        delivery = sim.state.webhooks.deliveries[0]
    assert len(RETRY_SCHEDULE) == 8
    assert [a.attempt for a in delivery.attempts] == list(range(1, 9))
    assert delivery.state == "failed" and len(receiver.calls) == 8
    assert json.loads(receiver.calls[-1][1])["event_type"] == "public_incident.incident_created_v2"
