"""Every request the incident.io client sends, checked against incident.io's OpenAPI spec.

The client is driven against the simulator (so every call gets a real answer) while an
httpx event hook records each request; each one must then be a documented operation: its
path and method, every query parameter (deep-object filters by their documented name and
operator depth, scalars by type and bounds, required ones present) and its JSON body
against the operation's request schema, closed so that an undocumented field fails.
Endpoints newer than the saved spec are checked against NOTES.md §7.2/§8.3 instead.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import pytest_asyncio

from activities.incident_io.client import IncidentIoClient
from activities.incident_io.sync import SyncActivities
from contracts.incident import PollInput
from simulators.incident_io import (
    SANDBOX_TOKEN,
    SimulatorConfig,
    SimulatorState,
    create_app,
    escalations,
)
from simulators.incident_io import seed as s
from simulators.incident_io.payloads import CreateEscalationPayload
from simulators.server import serve
from tests.simulators import incident_io_spec as spec

pytestmark = pytest.mark.asyncio

# Written from NOTES.md §7.2 and §8.3 (the newer SDKs): operations the saved spec lacks.
NEWER_REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v2/incident_updates"): {
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key", "incident_id"],
        "properties": {
            "idempotency_key": {"type": "string"},
            "incident_id": {"type": "string"},
            "message": {"type": "string"},
            "to_incident_status_id": {"type": "string"},
            "to_severity_id": {"type": "string"},
        },
    },
    ("POST", "/v2/incident_timeline_items"): {
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key", "incident_id", "title", "timestamp"],
        "properties": {
            "idempotency_key": {"type": "string"},
            "incident_id": {"type": "string"},
            "title": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "description": {"type": "string"},
        },
    },
    ("GET", "/v2/incident_timeline_items"): {"query": {"incident_id", "page_size", "after"}},
    ("POST", "/v2/escalations/{escalation_id}/actions/respond"): {
        "type": "object",
        "additionalProperties": False,
        "required": ["response"],
        "properties": {
            "response": {"enum": ["ack", "nack", "snooze"]},
            "snooze_details": {"type": "object"},
        },
    },
}


class Recorded:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def hook(self, request: httpx.Request) -> None:
        self.requests.append(request)


@pytest_asyncio.fixture
async def driven() -> AsyncIterator[list[httpx.Request]]:
    """Calls every public method of the client (and the sync poll) once, recording requests."""
    spec.load_spec()  # skips, saying where the spec is looked for, when it is absent
    state = SimulatorState(SimulatorConfig(catalog_team_field="Affected Team"))
    recorded = Recorded()
    async with (
        serve(create_app(state)) as url,
        httpx.AsyncClient(timeout=5.0, event_hooks={"request": [recorded.hook]}) as http,
    ):
        client = IncidentIoClient(http, base_url=url, token=SANDBOX_TOKEN)
        called = await _drive(client, state)
        public = {
            name
            for name, member in inspect.getmembers(IncidentIoClient, inspect.iscoroutinefunction)
            if not name.startswith("_") and name not in ("request", "paginate")
        }
        assert public <= called, (
            f"client methods the conformance test does not send: {public - called}"
        )
        sync = SyncActivities(lambda _: _async(client), _no_hint)
        from temporalio.testing import ActivityEnvironment

        await ActivityEnvironment().run(
            sync.poll, PollInput(workspace="default", cursor="2020-01-01T00:00:00+00:00")
        )
        yield recorded.requests


async def _async(value: Any) -> Any:
    return value


async def _no_hint(*args: Any) -> None:
    return None


async def _drive(client: IncidentIoClient, state: SimulatorState) -> set[str]:
    incident = state.find_incident("2")
    escalation = escalations.create(
        state,
        CreateEscalationPayload(
            idempotency_key="conf-1",
            title="page",
            escalation_path_id=s.PATH_PLATFORM,
            incident_id=incident.id,
        ),
        state.workspace.keys[0],
    )
    calls = {
        "identity": client.identity(),
        "severities": client.severities(),
        "incident_statuses": client.incident_statuses(),
        "custom_fields": client.custom_fields(),
        "custom_field_options": client.custom_field_options(s.FIELD_IMPACTED_SERVICES),
        "catalog_entries": client.catalog_entries(s.CATALOG_TYPE_TEAM),
        "escalation_paths": client.escalation_paths(),
        "users": client.users(email="bob@rensei.example"),
        "get_incident": client.get_incident("INC-2"),
        "list_incidents": client.list_incidents(
            status_categories=["live", "triage"],
            status_ids=[s.STATUS_FIXING],
            severity_ids=[s.SEVERITY_MINOR],
            custom_field={s.FIELD_CATALOG_TEAM: [s.ENTRY_TEAM_DATA]},
            limit=3,
        ),
        "edit_incident": client.edit_incident(incident.id, {"summary": "Mitigated"}),
        "list_incident_updates": client.list_incident_updates(incident.id),
        "create_incident_update": client.create_incident_update(
            incident.id, idempotency_key="conf-2", message="On it", to_severity_id=s.SEVERITY_MAJOR
        ),
        "list_timeline_items": client.list_timeline_items(incident.id),
        "create_timeline_item": client.create_timeline_item(
            incident.id,
            idempotency_key="conf-3",
            title="Paged",
            timestamp=datetime.now(UTC),
            description="Paged the on-call path",
        ),
        "list_escalations": client.list_escalations(
            incident_ids=[incident.id], statuses=["triggered"]
        ),
        "create_escalation": client.create_escalation(
            idempotency_key="conf-4",
            title="INC-2: search lag",
            description="Lagging",
            escalation_path_id=s.PATH_PLATFORM,
            incident_id=incident.id,
        ),
        "respond_escalation": client.respond_escalation(escalation.id, "ack"),
    }
    for call in calls.values():
        await call
    await client.create_escalation(idempotency_key="conf-5", title="x", user_ids=[s.USER_BOB])
    return set(calls)


def _operation(method: str, path: str) -> tuple[str, dict[str, Any] | None]:
    """The spec path template matching ``path`` and its operation (None: newer than it)."""
    for template, item in spec.load_spec()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    for newer_method, template in NEWER_REQUESTS:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if newer_method == method and re.match(pattern, path):
            return template, None
    raise AssertionError(f"{method} {path} is not an operation of incident.io's API")


def _check_query(request: httpx.Request, template: str, op: dict[str, Any] | None) -> None:
    pairs = parse_qsl(request.url.query.decode(), keep_blank_values=True)
    if op is None:
        allowed = NEWER_REQUESTS[(request.method, template)].get("query", set())
        assert {k for k, _ in pairs} <= allowed, (template, pairs)
        return
    params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    for key, value in pairs:
        name, _, rest = key.partition("[")
        assert name in params, f"{request.method} {template}: undocumented parameter {key!r}"
        schema = params[name]["schema"]
        if schema.get("type") == "object":
            depth = rest.count("[") + 1 if rest else 0
            nested = schema.get("additionalProperties", {}).get("type") == "object"
            assert depth == (2 if nested else 1), f"{template}: {key!r} is not {name}[..]"
            continue
        assert not rest, f"{template}: {name} is not a deep-object parameter ({key!r})"
        if schema.get("type") == "integer":
            number = int(value)
            assert number <= schema.get("maximum", number), f"{template}: {key}={value}"
            assert number >= schema.get("minimum", number), f"{template}: {key}={value}"
    sent = {k.partition("[")[0] for k, _ in pairs}
    for name, param in params.items():
        if param.get("required"):
            assert name in sent, f"{request.method} {template}: required {name!r} is missing"


def _check_body(request: httpx.Request, template: str, op: dict[str, Any] | None) -> None:
    body = json.loads(request.content) if request.content else None
    if op is None:
        schema = NEWER_REQUESTS[(request.method, template)]
        if "properties" in schema:
            assert request.headers["content-type"] == "application/json"
            spec.validate(body, schema)
        return
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        assert body is None, f"{request.method} {template} takes no body"
        return
    assert request.headers["content-type"] == "application/json"
    ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
    spec.validate(body, spec.component(ref))


async def test_every_client_request_is_a_documented_operation(
    driven: list[httpx.Request],
) -> None:
    checked: set[tuple[str, str]] = set()
    for request in driven:
        template, op = _operation(request.method, request.url.path)
        _check_query(request, template, op)
        _check_body(request, template, op)
        assert request.headers["authorization"] == f"Bearer {SANDBOX_TOKEN}"
        checked.add((request.method, template))
    assert checked == {
        ("GET", "/v1/identity"),
        ("GET", "/v1/severities"),
        ("GET", "/v1/incident_statuses"),
        ("GET", "/v2/custom_fields"),
        ("GET", "/v1/custom_field_options"),
        ("GET", "/v3/catalog_entries"),
        ("GET", "/v2/escalation_paths"),
        ("GET", "/v2/users"),
        ("GET", "/v2/incidents"),
        ("GET", "/v2/incidents/{id}"),
        ("POST", "/v2/incidents/{id}/actions/edit"),
        ("GET", "/v2/incident_updates"),
        ("POST", "/v2/incident_updates"),
        ("GET", "/v2/incident_timeline_items"),
        ("POST", "/v2/incident_timeline_items"),
        ("GET", "/v2/escalations"),
        ("POST", "/v2/escalations"),
        ("POST", "/v2/escalations/{escalation_id}/actions/respond"),
    }


async def test_the_checks_catch_what_incident_io_would_refuse() -> None:
    """The checks themselves fail on requests the real API would not take."""
    spec.load_spec()
    url = "https://api.incident.io"
    bad_query = httpx.Request("GET", f"{url}/v2/incidents", params={"status": "live"})
    template, op = _operation(bad_query.method, bad_query.url.path)
    with pytest.raises(AssertionError, match=r"'status' is not status\[\.\.\]"):
        _check_query(bad_query, template, op)
    too_big = httpx.Request("GET", f"{url}/v2/escalations", params={"page_size": 250})
    with pytest.raises(AssertionError, match="page_size=250"):
        _check_query(too_big, *_operation("GET", "/v2/escalations"))
    no_type = httpx.Request("GET", f"{url}/v3/catalog_entries", params={"page_size": 25})
    with pytest.raises(AssertionError, match="required 'catalog_type_id'"):
        _check_query(no_type, *_operation("GET", "/v3/catalog_entries"))
    extra = httpx.Request(
        "POST",
        f"{url}/v2/incidents/01X/actions/edit",
        json={"notify_incident_channel": True, "incident": {"status": "fixing"}},
    )
    with pytest.raises(Exception, match="status"):
        _check_body(extra, *_operation("POST", "/v2/incidents/01X/actions/edit"))
    with pytest.raises(AssertionError, match="not an operation"):
        _operation("POST", "/v2/incidents/01X/actions/acknowledge")
