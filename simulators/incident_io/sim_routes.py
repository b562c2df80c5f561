"""`/_sim/*`: no-auth control routes to inspect the simulator, inject faults and act as a person."""

from __future__ import annotations

from fastapi import APIRouter, Request

from simulators.incident_io import incidents
from simulators.incident_io.auth import state_of
from simulators.incident_io.errors import invalid
from simulators.incident_io.faults import FaultSettings
from simulators.incident_io.payloads import (
    SimIncidentPayload,
    SimSeverityPayload,
    SimStatusPayload,
    WebhookConfigPayload,
)
from simulators.incident_io.records import Json, incident_json, user_json
from simulators.incident_io.seed import ROLE_REPORTER, USER_ALICE
from simulators.incident_io.state import SimulatorState

router = APIRouter(prefix="/_sim", include_in_schema=False)


def _person(state: SimulatorState, user_id: str | None) -> Json:
    user = state.workspace.user(user_id or USER_ALICE)
    if user is None:
        raise invalid("user_id", f"unknown user {user_id!r}")
    return {"user": user_json(user)}


@router.get("/requests")
async def list_requests(request: Request) -> Json:
    return {"requests": [r.summary() for r in state_of(request).requests]}


@router.delete("/requests", status_code=204)
async def clear_requests(request: Request) -> None:
    state_of(request).requests.clear()


@router.get("/faults")
async def show_faults(request: Request) -> Json:
    return {"faults": state_of(request).faults.snapshot()}


@router.post("/faults")
async def set_faults(request: Request, body: FaultSettings) -> Json:
    faults = state_of(request).faults
    faults.update(body)
    return {"faults": faults.snapshot()}


@router.delete("/faults")
async def clear_faults(request: Request) -> Json:
    faults = state_of(request).faults
    faults.clear()
    return {"faults": faults.snapshot()}


@router.get("/webhooks")
async def list_webhooks(request: Request) -> Json:
    sender = state_of(request).webhooks
    return {
        "url": sender.url,
        "deliveries": [d.summary() for d in sender.deliveries],
    }


@router.post("/webhooks/config")
async def configure_webhooks(request: Request, body: WebhookConfigPayload) -> Json:
    sender = state_of(request).webhooks
    try:
        sender.configure(body.url, body.secret)
    except ValueError as exc:
        raise invalid("secret", str(exc)) from None
    return {"url": sender.url}


@router.post("/webhooks/drain")
async def drain_webhooks(request: Request) -> Json:
    sender = state_of(request).webhooks
    await sender.drain()
    return {"deliveries": [d.summary() for d in sender.deliveries]}


@router.post("/reset")
async def reset(request: Request) -> Json:
    state_of(request).reset()
    return {}


@router.post("/incidents", status_code=201)
async def declare_incident(request: Request, body: SimIncidentPayload) -> Json:
    """Declares an incident as a person in the dashboard would (any status, no idempotency)."""
    state = state_of(request)
    ws = state.workspace
    person = _person(state, body.user_id)
    status_id = body.incident_status_id or incidents.default_status(ws, body.incident_type_id)
    if ws.status(status_id) is None:
        raise invalid("incident_status_id", f"unknown incident status {status_id!r}")
    if body.severity_id is not None and ws.severity(body.severity_id) is None:
        raise invalid("severity_id", f"unknown severity {body.severity_id!r}")
    type_id = body.incident_type_id or incidents.DEFAULT_TYPE
    if ws.incident_type(type_id) is None:
        raise invalid("incident_type_id", f"unknown incident type {type_id!r}")
    incident = state.create_incident(
        body.name,
        status_id=status_id,
        severity_id=body.severity_id,
        visibility=body.visibility,
        mode=body.mode,
        summary=body.summary,
        type_id=type_id,
        custom_field_entries=[
            e.model_dump(exclude_none=True) for e in body.custom_field_entries or []
        ],
        role_assignments={ROLE_REPORTER: person["user"]["id"]},
        creator=person,
    )
    state.notify_created(incident)
    return {"incident": incident_json(incident, ws)}


@router.post("/incidents/{id}/status")
async def change_status(request: Request, id: str, body: SimStatusPayload) -> Json:
    """Moves an incident to any status, as a person can in the dashboard (e.g. accept triage)."""
    state = state_of(request)
    incident = state.find_incident(id)
    incidents.change_incident(
        state,
        incident,
        {"incident_status_id": body.incident_status_id},
        actor=_person(state, body.user_id),
        enforce_rules=False,
        names={"incident_status_id": "incident_status_id"},
        update_message=body.message,
    )
    return {"incident": incident_json(incident, state.workspace)}


@router.post("/incidents/{id}/severity")
async def change_severity(request: Request, id: str, body: SimSeverityPayload) -> Json:
    state = state_of(request)
    incident = state.find_incident(id)
    incidents.change_incident(
        state,
        incident,
        {"severity_id": body.severity_id},
        actor=_person(state, body.user_id),
        enforce_rules=False,
        names={"severity_id": "severity_id"},
    )
    return {"incident": incident_json(incident, state.workspace)}
