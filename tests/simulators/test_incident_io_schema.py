"""Every simulator endpoint, success and error, validated against incident.io's OpenAPI spec."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from simulators.incident_io import SANDBOX_TOKEN, VIEWER_TOKEN, SimulatorConfig
from simulators.incident_io import seed as s
from simulators.incident_io.auth import SCOPES
from tests.simulators import incident_io_spec as spec
from tests.simulators.conftest import WEBHOOK_SECRET, Receiver, bearer, running_sim


class Conformance:
    """Calls the simulator and validates every response body against its schema."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.seen: set[tuple[str, str, str]] = set()

    async def call(
        self,
        method: str,
        template: str,
        expect: int,
        *,
        token: str | None = SANDBOX_TOKEN,
        body: Any = None,
        params: Any = None,
        **path: str,
    ) -> Any:
        headers = bearer(token) if token else {"Authorization": ""}
        response = await self.client.request(
            method, template.format(**path), json=body, params=params, headers=headers
        )
        assert response.status_code == expect, response.text
        outcome = "ok" if response.status_code < 400 else "error"
        self.seen.add((method, template, outcome))
        return self._check(method, template, response)

    def _check(self, method: str, template: str, response: httpx.Response) -> Any:
        status = response.status_code
        if method == "POST" and template.endswith("/actions/respond") and status == 200:
            assert response.content == b""
            return None
        body = response.json()
        if status >= 400:
            spec.validate(body, spec.ERROR_SCHEMA)
            assert body["status"] == status
            assert uuid.UUID(body["request_id"]).version == 4
        elif (method, template, status) in spec.NEWER_RESPONSES:
            spec.validate(body, spec.NEWER_RESPONSES[(method, template, status)])
        else:
            documented = spec.validate_response(method, template, status, body)
            assert documented, f"spec documents no {status} for {method} {template}"
        return body


# Operations the spec lists without a scope, or does not list at all (newer than it).
OUR_SCOPES = {
    ("GET", "/v1/identity"): None,
    ("POST", "/v2/incidents/{id}/actions/edit"): "incidents.edit",
    ("POST", "/v2/incident_updates"): "incidents.edit",
    ("GET", "/v2/incident_timeline_items"): "incidents.view",
    ("POST", "/v2/incident_timeline_items"): "incidents.edit",
    ("POST", "/v2/escalations/{id}/actions/respond"): "escalations.create",
}


def test_scopes_match_the_spec() -> None:
    for (method, path), scope in SCOPES.items():
        listed = spec.rbac_scopes(method, path)
        if listed:
            assert [scope] == listed, (method, path)
        else:
            assert OUR_SCOPES[(method, path)] == scope, (method, path)


@pytest.mark.asyncio
async def test_every_endpoint_conforms(receiver: Receiver) -> None:
    spec.load_spec()  # skips the test when the spec is not available
    config = SimulatorConfig(
        webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET, schedule_scale=0.001
    )
    async with running_sim(config) as sim:
        check = Conformance(sim.client)
        await check.call("GET", "/v1/identity", 200)
        await check.call("GET", "/v1/identity", 200, token=VIEWER_TOKEN)
        for path in ("/v1/severities", "/v1/incident_statuses", "/v1/incident_types"):
            await check.call("GET", path, 200)
        await check.call("GET", "/v2/custom_fields", 200)
        await check.call("GET", "/v2/incident_roles", 200)
        options = "/v1/custom_field_options"
        await check.call("GET", options, 200, params={"custom_field_id": s.FIELD_TEAM})
        await check.call(
            "GET", options, 200, params={"custom_field_id": s.FIELD_TEAM, "page_size": 1}
        )
        await check.call("GET", options, 422)
        await check.call(
            "GET", options, 404, params={"custom_field_id": "01HNOFIELD0000000000000000"}
        )
        await check.call("GET", "/v2/escalation_paths", 200)
        await check.call("GET", "/v2/escalation_paths", 422, params={"page_size": 26})
        await check.call("GET", "/v2/escalation_paths", 403, token=VIEWER_TOKEN)
        await check.call("GET", "/v2/users", 200)
        await check.call("GET", "/v2/users", 200, params={"email": "bob@rensei.example"})
        await check.call("GET", "/v2/users", 200, token=VIEWER_TOKEN)

        created = await check.call(
            "POST",
            "/v2/incidents",
            200,
            body={
                "idempotency_key": "conformance-1",
                "visibility": "public",
                "name": "Payments API returning 502s",
                "summary": "Card payments fail for EU customers.",
                "severity_id": s.SEVERITY_MAJOR,
                "custom_field_entries": [
                    {
                        "custom_field_id": s.FIELD_TEAM,
                        "values": [{"value_option_id": s.OPTION_TEAM_PAYMENTS}],
                    },
                    {
                        "custom_field_id": s.FIELD_IMPACTED_SERVICES,
                        "values": [
                            {"value_option_id": s.OPTION_SERVICE_API},
                            {"value_option_id": s.OPTION_SERVICE_CHECKOUT},
                        ],
                    },
                    {"custom_field_id": s.FIELD_ROOT_CAUSE, "values": [{"value_text": "TBD"}]},
                ],
                "incident_role_assignments": [
                    {"incident_role_id": s.ROLE_LEAD, "assignee": {"email": "bob@rensei.example"}}
                ],
            },
        )
        incident_id = created["incident"]["id"]
        reference = created["incident"]["reference"].removeprefix("INC-")
        await check.call(
            "POST", "/v2/incidents", 200, body={"idempotency_key": "p", "visibility": "private"}
        )
        await check.call("POST", "/v2/incidents", 422, body={"visibility": "public"})
        await check.call(
            "POST", "/v2/incidents", 403, token=VIEWER_TOKEN, body={"idempotency_key": "v"}
        )
        await check.call("GET", "/v2/incidents", 200, params={"page_size": 2})
        await check.call("GET", "/v2/incidents", 200, params={"mode[one_of]": "test"})
        await check.call("GET", "/v2/incidents", 422, params={"page_size": 251})
        await check.call("GET", "/v2/incidents/{id}", 200, id=incident_id)
        await check.call("GET", "/v2/incidents/{id}", 200, id=reference)
        await check.call("GET", "/v2/incidents/{id}", 404, id="01HNOSVCHNCDENT000000000000")

        edit = "/v2/incidents/{id}/actions/edit"
        fixing = {"incident_status_id": s.STATUS_FIXING, "severity_id": s.SEVERITY_CRITICAL}
        await check.call(
            "POST",
            edit,
            200,
            id=incident_id,
            body={"notify_incident_channel": False, "incident": fixing},
        )
        back = {"incident_status_id": s.STATUS_TRIAGE}
        await check.call(
            "POST",
            edit,
            422,
            id=incident_id,
            body={"notify_incident_channel": True, "incident": back},
        )
        await check.call(
            "POST",
            edit,
            403,
            id=incident_id,
            token=VIEWER_TOKEN,
            body={"notify_incident_channel": True, "incident": {}},
        )

        updates = "/v2/incident_updates"
        await check.call(
            "POST",
            updates,
            201,
            body={
                "idempotency_key": "u1",
                "incident_id": incident_id,
                "message": "Rolled back the deploy",
                "to_incident_status_id": s.STATUS_MONITORING,
            },
        )
        await check.call(
            "POST", updates, 422, body={"idempotency_key": "u2", "incident_id": incident_id}
        )
        await check.call("GET", updates, 200, params={"incident_id": incident_id})
        await check.call("GET", updates, 422, params={"page_size": 0})

        timeline = "/v2/incident_timeline_items"
        await check.call(
            "POST",
            timeline,
            201,
            body={
                "idempotency_key": "t1",
                "incident_id": incident_id,
                "title": "Customer reports started",
                "timestamp": "2025-02-01T10:00:00Z",
                "description": "Support saw the first **ticket**.",
            },
        )
        await check.call(
            "POST", timeline, 422, body={"idempotency_key": "t2", "incident_id": incident_id}
        )
        await check.call("GET", timeline, 200, params={"incident_id": incident_id})
        await check.call("GET", timeline, 422)

        esc = await check.call(
            "POST",
            "/v2/escalations",
            201,
            body={
                "idempotency_key": "e1",
                "title": "Payments API down",
                "escalation_path_id": s.PATH_PAYMENTS,
                "incident_id": incident_id,
            },
        )
        esc_id = esc["escalation"]["id"]
        assert esc["escalation"]["related_incidents"][0]["status_category"] == "active"
        await check.call(
            "POST",
            "/v2/escalations",
            422,
            body={
                "idempotency_key": "e2",
                "title": "x",
                "escalation_path_id": s.PATH_PLATFORM,
                "user_ids": [s.USER_BOB],
            },
        )
        await check.call("GET", "/v2/escalations", 200)
        await check.call("GET", "/v2/escalations", 403, token=VIEWER_TOKEN)
        await check.call("GET", "/v2/escalations/{id}", 200, id=esc_id)
        await check.call("GET", "/v2/escalations/{id}", 404, id="nope")
        respond = "/v2/escalations/{id}/actions/respond"
        await check.call("POST", respond, 422, id=esc_id, body={"response": "nack"})
        await check.call("POST", respond, 200, id=esc_id, body={"response": "ack"})

        async with running_sim(SimulatorConfig(catalog_team_field="Affected Team")) as cat:
            await _catalog_team_conforms(Conformance(cat.client), check.seen)

        for method, template in SCOPES:
            path = template.format(id=incident_id)
            await check.call(method, path, 401, token=None, body={} if method == "POST" else None)
            check.seen.add((method, template, "error"))

        missing = {
            (method, template, outcome)
            for method, template in SCOPES
            for outcome in ("ok", "error")
        } - check.seen
        assert not missing, f"endpoints not exercised: {sorted(missing)}"

        await sim.state.webhooks.drain()
        events = [json.loads(body) for _, body in receiver.calls]
        kinds = {event["event_type"] for event in events}
        assert {
            "public_incident.incident_created_v2",
            "public_incident.incident_updated_v2",
            "public_incident.incident_status_updated_v2",
            "private_incident.incident_created_v2",
            "public_escalation.escalation_created_v1",
            "public_escalation.escalation_status_updated_v1",
        } <= kinds
        for event in events:
            spec.validate_webhook(event["event_type"], event)


async def _catalog_team_conforms(check: Conformance, seen: set[tuple[str, str, str]]) -> None:
    """A workspace whose team is a catalog-backed field, as incident.io models teams."""
    fields = await check.call("GET", "/v2/custom_fields", 200)
    team = next(f for f in fields["custom_fields"] if f["name"] == "Affected Team")
    assert team["catalog_type_id"] == s.CATALOG_TYPE_TEAM
    entries = "/v3/catalog_entries"
    params = {"catalog_type_id": s.CATALOG_TYPE_TEAM, "page_size": 2}
    page = await check.call("GET", entries, 200, params=params)
    assert [e["name"] for e in page["catalog_entries"]] == ["Platform", "Payments"]
    rest = await check.call(
        "GET", entries, 200, params=params | {"after": page["pagination_meta"]["after"]}
    )
    assert [e["name"] for e in rest["catalog_entries"]] == ["Data", "Mobile"]
    await check.call("GET", entries, 422, params={"catalog_type_id": s.CATALOG_TYPE_TEAM})
    await check.call("GET", entries, 422, params={"page_size": 25})
    await check.call(
        "GET",
        entries,
        404,
        params={"catalog_type_id": "01HNOTYPE00000000000000000", "page_size": 5},
    )
    created = await check.call(
        "POST",
        "/v2/incidents",
        200,
        body={
            "idempotency_key": "catalog-1",
            "visibility": "public",
            "name": "Ledger writes stall",
            "custom_field_entries": [
                {
                    "custom_field_id": team["id"],
                    "values": [{"value_catalog_entry_id": "team-payments"}],
                }
            ],
        },
    )
    entry = created["incident"]["custom_field_entries"][0]
    assert entry["values"][0]["value_catalog_entry"]["id"] == s.ENTRY_TEAM_PAYMENTS
    await check.call(
        "POST",
        "/v2/incidents",
        422,
        body={
            "idempotency_key": "catalog-2",
            "visibility": "public",
            "name": "x",
            "custom_field_entries": [
                {"custom_field_id": team["id"], "values": [{"value_option_id": s.OPTION_TEAM_DATA}]}
            ],
        },
    )
    listed = await check.call(
        "GET",
        "/v2/incidents",
        200,
        params={f"custom_field[{team['id']}][one_of]": s.ENTRY_TEAM_PAYMENTS},
    )
    assert {i["name"] for i in listed["incidents"]} == {
        "Ledger writes stall",
        "Checkout latency spike",
    }
    seen |= check.seen
