"""Incident behaviour: pagination, filters, lookups, transitions, partial edits, idempotency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from simulators.incident_io import VIEWER_TOKEN, SimulatorConfig
from simulators.incident_io import seed as s
from tests.simulators.conftest import Sim, bearer, running_sim

pytestmark = pytest.mark.asyncio

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def empty() -> AsyncIterator[Sim]:
    async with running_sim(SimulatorConfig(seed_incidents=False)) as running:
        yield running


async def _refs(sim: Sim, **params: Any) -> list[str]:
    response = await sim.client.get("/v2/incidents", params=params)
    assert response.status_code == 200, response.text
    return [i["reference"] for i in response.json()["incidents"]]


async def test_pagination_walks_every_incident_newest_first(empty: Sim) -> None:
    for n in range(7):
        empty.state.create_incident(f"incident {n}", created_at=BASE + timedelta(hours=n))
    seen: list[str] = []
    after: str | None = None
    pages = []
    while True:
        params: dict[str, Any] = {"page_size": 3}
        if after:
            params["after"] = after
        body = (await empty.client.get("/v2/incidents", params=params)).json()
        meta = body["pagination_meta"]
        assert meta["total_record_count"] == 7 and meta["page_size"] == 3
        pages.append(len(body["incidents"]))
        seen += [i["reference"] for i in body["incidents"]]
        after = meta.get("after")
        if not after:
            break
    assert pages == [3, 3, 1]
    assert seen == [f"INC-{n}" for n in range(7, 0, -1)]
    assert await _refs(empty, sort_by="created_at_oldest_first", page_size=2) == ["INC-1", "INC-2"]


async def test_page_size_bounds(empty: Sim) -> None:
    assert (await empty.client.get("/v2/incidents", params={"page_size": 250})).status_code == 200
    too_big = await empty.client.get("/v2/incidents", params={"page_size": 251})
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["source"]["field"] == "page_size"
    unknown = await empty.client.get(
        "/v2/incidents", params={"after": "01HUNKNOWN0000000000000000"}
    )
    assert unknown.status_code == 422


async def test_filters(empty: Sim) -> None:
    st = empty.state
    st.create_incident("triage minor", status_id=s.STATUS_TRIAGE, severity_id=s.SEVERITY_MINOR,
                       created_at=BASE)  # fmt: skip
    st.create_incident(
        "live critical payments",
        severity_id=s.SEVERITY_CRITICAL,
        created_at=BASE + timedelta(days=1),
        custom_field_entries=[
            {
                "custom_field_id": s.FIELD_TEAM,
                "values": [{"value_option_id": s.OPTION_TEAM_PAYMENTS}],
            }
        ],
    )
    st.create_incident("closed major", status_id=s.STATUS_CLOSED, severity_id=s.SEVERITY_MAJOR,
                       created_at=BASE + timedelta(days=2))  # fmt: skip
    st.create_incident("a drill", mode="test", created_at=BASE + timedelta(days=3))

    assert await _refs(empty) == ["INC-3", "INC-2", "INC-1"]  # test mode hidden by default
    assert await _refs(empty, **{"mode[one_of]": "test"}) == ["INC-4"]
    assert await _refs(empty, **{"status_category[one_of]": ["live", "triage"]}) == [
        "INC-2",
        "INC-1",
    ]
    assert await _refs(empty, **{"status_category[not_in]": "closed"}) == ["INC-2", "INC-1"]
    assert await _refs(empty, **{"severity[gte]": s.SEVERITY_MAJOR}) == ["INC-3", "INC-2"]
    assert await _refs(empty, **{"severity[lte]": s.SEVERITY_MAJOR}) == ["INC-3", "INC-1"]
    assert await _refs(empty, **{"severity[one_of]": s.SEVERITY_MINOR}) == ["INC-1"]
    assert await _refs(empty, **{"created_at[date_range]": "2025-03-02~2025-03-03"}) == [
        "INC-3",
        "INC-2",
    ]
    assert await _refs(empty, **{"created_at[gte]": "2025-03-03"}) == ["INC-3"]
    assert await _refs(empty, **{"created_at[lte]": "2025-03-01"}) == ["INC-1"]
    field = f"custom_field[{s.FIELD_TEAM}][one_of]"
    assert await _refs(empty, **{field: s.OPTION_TEAM_PAYMENTS}) == ["INC-2"]
    bad = await empty.client.get("/v2/incidents", params={"severity[between]": "x"})
    assert bad.status_code == 422
    assert "unsupported operator 'between'" in bad.json()["errors"][0]["message"]


async def test_lookup_by_reference_and_private_visibility(sim: Sim) -> None:
    by_ref = (await sim.client.get("/v2/incidents/2")).json()["incident"]
    by_id = (await sim.client.get(f"/v2/incidents/{by_ref['id']}")).json()["incident"]
    assert by_ref == by_id and by_ref["reference"] == "INC-2"
    secret = sim.state.create_incident("secret", visibility="private")
    viewer = bearer(VIEWER_TOKEN)
    assert (await sim.client.get(f"/v2/incidents/{secret.id}")).status_code == 200
    hidden = await sim.client.get(f"/v2/incidents/{secret.id}", headers=viewer)
    assert hidden.status_code == 404 and hidden.json()["type"] == "not_found"
    listed = (await sim.client.get("/v2/incidents", headers=viewer)).json()["incidents"]
    assert secret.id not in {i["id"] for i in listed}


TRANSITIONS = [
    (s.STATUS_TRIAGE, s.STATUS_DOCUMENTING, 200),
    (s.STATUS_TRIAGE, s.STATUS_CLOSED, 200),
    (s.STATUS_INVESTIGATING, s.STATUS_FIXING, 200),
    (s.STATUS_FIXING, s.STATUS_CLOSED, 200),
    (s.STATUS_MONITORING, s.STATUS_DOCUMENTING, 200),
    (s.STATUS_DOCUMENTING, s.STATUS_CLOSED, 200),
    (s.STATUS_TRIAGE, s.STATUS_INVESTIGATING, 422),
    (s.STATUS_INVESTIGATING, s.STATUS_TRIAGE, 422),
    (s.STATUS_INVESTIGATING, s.STATUS_PAUSED, 422),
    (s.STATUS_DOCUMENTING, s.STATUS_FIXING, 422),
    (s.STATUS_CLOSED, s.STATUS_INVESTIGATING, 422),
    (s.STATUS_CLOSED, s.STATUS_DOCUMENTING, 422),
    (s.STATUS_INVESTIGATING, s.STATUS_DECLINED, 422),
]


@pytest.mark.parametrize(("start", "target", "code"), TRANSITIONS)
async def test_status_transitions(empty: Sim, start: str, target: str, code: int) -> None:
    incident = empty.state.create_incident("moving", status_id=start)
    response = await empty.client.post(
        f"/v2/incidents/{incident.id}/actions/edit",
        json={"notify_incident_channel": False, "incident": {"incident_status_id": target}},
    )
    assert response.status_code == code, response.text
    if code == 200:
        assert response.json()["incident"]["incident_status"]["id"] == target
    else:
        error = response.json()["errors"][0]
        assert error["source"]["field"] == "incident.incident_status_id"
        assert "Cannot move an incident from" in error["message"]
        assert incident.status_id == start


async def test_edit_changes_only_sent_fields(empty: Sim) -> None:
    incident = empty.state.create_incident(
        "Queue backlog",
        severity_id=s.SEVERITY_MINOR,
        summary="old",
        created_at=BASE,
        custom_field_entries=[
            {"custom_field_id": s.FIELD_ROOT_CAUSE, "values": [{"value_text": "unknown"}]}
        ],
    )
    response = await empty.client.post(
        f"/v2/incidents/{incident.id}/actions/edit",
        json={
            "notify_incident_channel": True,
            "incident": {
                "summary": "Workers are draining the backlog",
                "custom_field_entries": [
                    {
                        "custom_field_id": s.FIELD_TEAM,
                        "values": [{"value_option_id": s.OPTION_TEAM_DATA}],
                    }
                ],
                "incident_role_assignments": [
                    {"incident_role_id": s.ROLE_LEAD, "assignee": {"slack_user_id": "U07BOB00002"}}
                ],
            },
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()["incident"]
    assert body["name"] == "Queue backlog" and body["summary"] == "Workers are draining the backlog"
    assert body["severity"]["id"] == s.SEVERITY_MINOR
    assert body["updated_at"] > body["created_at"]
    fields = {e["custom_field"]["name"]: e["values"] for e in body["custom_field_entries"]}
    assert fields["Team"] == [{"value_option": fields["Team"][0]["value_option"]}]
    assert fields["Team"][0]["value_option"]["value"] == "Data"
    assert fields["Root Cause"] == [{"value_text": "unknown"}]  # not sent, so untouched
    roles = {a["role"]["role_type"]: a.get("assignee") for a in body["incident_role_assignments"]}
    assert roles["lead"]["name"] == "Bob Nakamura" and roles["reporter"] is None
    reporter = await empty.client.post(
        f"/v2/incidents/{incident.id}/actions/edit",
        json={
            "notify_incident_channel": True,
            "incident": {"incident_role_assignments": [{"incident_role_id": s.ROLE_REPORTER}]},
        },
    )
    assert reporter.status_code == 422
    assert "only be assigned at creation" in reporter.json()["errors"][0]["message"]


async def test_create_is_idempotent_and_validates(empty: Sim) -> None:
    payload = {"idempotency_key": "alert-42", "visibility": "public", "name": "Disk full"}
    first = await empty.client.post("/v2/incidents", json=payload)
    again = await empty.client.post("/v2/incidents", json={**payload, "name": "other"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and len(empty.state.incidents) == 1
    created = first.json()["incident"]
    assert created["creator"] == {"api_key": {"id": s.KEY_SANDBOX, "name": "rensei sandbox"}}
    assert created["incident_status"]["category"] == "live"
    bad = await empty.client.post(
        "/v2/incidents",
        json={"idempotency_key": "x", "visibility": "public", "severity_id": "nope"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["source"]["field"] == "severity_id"
    security = await empty.client.post(
        "/v2/incidents",
        json={
            "idempotency_key": "sec",
            "visibility": "private",
            "incident_type_id": s.TYPE_SECURITY,
        },
    )
    assert security.json()["incident"]["incident_status"]["category"] == "triage"


async def test_incident_updates_apply_and_are_idempotent(empty: Sim) -> None:
    incident = empty.state.create_incident("Checkout errors", severity_id=s.SEVERITY_MINOR)
    payload = {
        "idempotency_key": "upd-1",
        "incident_id": incident.id,
        "message": "Mitigated by failing over",
        "to_incident_status_id": s.STATUS_MONITORING,
        "to_severity_id": s.SEVERITY_MAJOR,
    }
    first = await empty.client.post("/v2/incident_updates", json=payload)
    again = await empty.client.post("/v2/incident_updates", json=payload)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    update = first.json()["incident_update"]
    assert update["new_incident_status"]["name"] == "Monitoring"
    assert update["new_severity"]["name"] == "Major" and update["message"] == payload["message"]
    assert (incident.status_id, incident.severity_id) == (s.STATUS_MONITORING, s.SEVERITY_MAJOR)
    refused = await empty.client.post(
        "/v2/incident_updates",
        json={
            "idempotency_key": "upd-2",
            "incident_id": incident.id,
            "to_incident_status_id": s.STATUS_TRIAGE,
        },
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["source"]["field"] == "to_incident_status_id"
    listed = (
        await empty.client.get("/v2/incident_updates", params={"incident_id": incident.id})
    ).json()
    assert [u["id"] for u in listed["incident_updates"]] == [update["id"]]


async def test_timeline_items_oldest_first_and_idempotent(empty: Sim) -> None:
    incident = empty.state.create_incident("Timeline")
    for key, stamp in (("b", "2025-03-01T12:00:00Z"), ("a", "2025-03-01T09:00:00Z")):
        response = await empty.client.post(
            "/v2/incident_timeline_items",
            json={
                "idempotency_key": key,
                "incident_id": incident.id,
                "title": key,
                "timestamp": stamp,
            },
        )
        assert response.status_code == 201
    repeat = await empty.client.post(
        "/v2/incident_timeline_items",
        json={
            "idempotency_key": "a",
            "incident_id": incident.id,
            "title": "changed",
            "timestamp": "2025-01-01T00:00:00Z",
        },
    )
    assert repeat.json()["incident_timeline_item"]["title"] == "a"
    listed = await empty.client.get(
        "/v2/incident_timeline_items", params={"incident_id": str(incident.number)}
    )
    assert [t["title"] for t in listed.json()["incident_timeline_items"]] == ["a", "b"]
