"""Which deliveries' incidents ride in the hint (``carried_incident``)."""

from __future__ import annotations

from typing import Any

from api.routes.webhooks import carried_incident
from contracts.incident import MAX_HINT_INCIDENT

INCIDENT: dict[str, Any] = {
    "id": "01INC",
    "reference": "INC-1",
    "name": "Checkout 500s",
    "incident_status": {"id": "01STS", "name": "Investigating", "category": "live"},
    "updated_at": "2026-12-02T03:00:00.000000Z",
}


def envelope(event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": event_type, event_type: resource}


def test_public_created_and_updated_deliveries_carry_their_incident() -> None:
    for event_type in (
        "public_incident.incident_created_v2",
        "public_incident.incident_updated_v2",
    ):
        assert carried_incident(envelope(event_type, INCIDENT), event_type) == INCIDENT


def test_a_status_change_carries_its_incident_beside_the_statuses() -> None:
    status = "public_incident.incident_status_updated_v2"
    change = {"incident": INCIDENT, "previous_status": {}, "new_status": {}}
    assert carried_incident(envelope(status, change), status) == INCIDENT
    assert carried_incident(envelope(status, {"incident": []}), status) is None


def test_other_deliveries_carry_none() -> None:
    private = "private_incident.incident_created_v2"
    assert carried_incident(envelope(private, {"id": "01INC"}), private) is None
    private_update = "private_incident.incident_updated_v2"
    assert carried_incident(envelope(private_update, {"id": "01INC"}), private_update) is None


def test_an_incident_that_does_not_read_as_one_or_is_too_large_is_fetched_instead() -> None:
    event_type = "public_incident.incident_created_v2"
    partial = {k: v for k, v in INCIDENT.items() if k != "incident_status"}
    assert carried_incident(envelope(event_type, partial), event_type) is None
    large = INCIDENT | {"summary": "x" * MAX_HINT_INCIDENT}
    assert carried_incident(envelope(event_type, large), event_type) is None
    assert carried_incident(envelope(event_type, INCIDENT) | {event_type: []}, event_type) is None
