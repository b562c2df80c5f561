"""Escalations: create (path XOR users), respond (ack/snooze; keys cannot nack), webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulators.incident_io.errors import ApiError, invalid, not_found
from simulators.incident_io.payloads import CreateEscalationPayload, RespondEscalationPayload
from simulators.incident_io.records import (
    EscalationRecord,
    Json,
    escalation_json,
    iso,
    user_json,
)
from simulators.incident_io.seed import ApiKey

if TYPE_CHECKING:
    from simulators.incident_io.state import SimulatorState

_FINISHED = {"resolved", "expired", "cancelled"}


def render(state: SimulatorState, esc: EscalationRecord) -> Json:
    incident = state.incidents.get(esc.incident_id) if esc.incident_id else None
    return escalation_json(esc, state.workspace, incident)


def _event(state: SimulatorState, kind: str, user_ids: list[str] | None = None) -> Json:
    event: Json = {"id": state.new_id(), "event": kind, "occurred_at": iso(state.now())}
    if user_ids is not None:
        users = [state.workspace.user(u) for u in user_ids]
        event["users"] = [user_json(u) for u in users if u is not None]
        event["urgency"] = "high"
    return event


def create(state: SimulatorState, body: CreateEscalationPayload, key: ApiKey) -> EscalationRecord:
    """`POST /v2/escalations`; a repeated idempotency key returns the first escalation."""
    existing = state.idempotency.get(("escalation", body.idempotency_key))
    if existing is not None:
        return state.escalations[existing]
    ws = state.workspace
    if (body.escalation_path_id is None) == (not body.user_ids):
        raise invalid(
            "escalation_path_id",
            "Provide exactly one of escalation_path_id or user_ids",
            code="invalid_value",
        )
    if body.escalation_path_id is not None:
        path = ws.escalation_path(body.escalation_path_id)
        if path is None:
            raise invalid(
                "escalation_path_id", f"unknown escalation path {body.escalation_path_id!r}"
            )
        user_ids = list(path.user_ids)
    else:
        user_ids = list(body.user_ids or [])
        unknown = [u for u in user_ids if ws.user(u) is None]
        if unknown:
            raise invalid("user_ids", f"unknown user {unknown[0]!r}")
    if body.incident_id is not None:
        incident = state.incidents.get(body.incident_id)
        if incident is None or not state.can_see(incident, key):
            raise invalid("incident_id", f"unknown incident {body.incident_id!r}")
    now = state.now()
    esc = EscalationRecord(
        id=state.new_id(),
        title=body.title,
        description=body.description or "",
        status="triggered",
        idempotency_key=body.idempotency_key,
        created_at=now,
        updated_at=now,
        user_ids=user_ids,
        events=[_event(state, "triggered"), _event(state, "notified_users", user_ids)],
        escalation_path_id=body.escalation_path_id,
        incident_id=body.incident_id,
    )
    state.escalations[esc.id] = esc
    state.idempotency[("escalation", body.idempotency_key)] = esc.id
    state.webhooks.send("public_escalation.escalation_created_v1", render(state, esc))
    return esc


def find(state: SimulatorState, escalation_id: str) -> EscalationRecord:
    esc = state.escalations.get(escalation_id)
    if esc is None:
        raise not_found("escalation", escalation_id)
    return esc


def respond(
    state: SimulatorState, esc: EscalationRecord, body: RespondEscalationPayload, key: ApiKey
) -> None:
    """`POST /v2/escalations/{id}/actions/respond` on behalf of the API key itself."""
    if body.response == "nack":
        raise ApiError(
            422,
            "invalid_value",
            "An API key cannot nack an escalation: nack means a person cannot take the page",
            field="response",
        )
    if esc.status in _FINISHED:
        raise invalid("response", f"The escalation is {esc.status} and can no longer be answered")
    previous = esc.status
    target = "acked" if body.response == "ack" else "snoozed"
    if previous == target:
        return
    esc.status = target
    esc.updated_at = state.now()
    if target == "acked":
        esc.events.append(_event(state, "acked"))
    state.webhooks.send(
        "public_escalation.escalation_status_updated_v1",
        {
            "escalation": render(state, esc),
            "previous_status": previous,
            "new_status": target,
            "actor": {"api_key": {"id": key.id, "name": key.name}},
        },
    )
