"""The incident.io trigger types, the webhook events that map to them, and the pure helpers
the per-incident workflow applies to normalized incident fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CREATED = "trigger.incident_io.incident.created"
UPDATED = "trigger.incident_io.incident.updated"
RESOLVED = "trigger.incident_io.incident.resolved"

RESOLVED_CATEGORIES = frozenset({"learning", "closed"})


@dataclass(frozen=True)
class WebhookEvent:
    """What one incident.io webhook event type means, and where its payload has the incident.

    ``private`` payloads are only ``{id}`` (incident.io's ``private_incident.*`` events), so
    the incident is fetched; the others hold the whole incident, as the payload itself
    (``WebhookIncidentV2``) or under ``incident_key`` (``IncidentWithStatusChangeV2``, which
    also has the ``previous_status`` of a ``status_change``).
    """

    trigger: str
    private: bool = False
    incident_key: str | None = None
    status_change: bool = False

    def incident_of(self, payload: Mapping[str, Any]) -> Any:
        """Where the incident is in ``payload`` (a private event's ``{id}`` is its own)."""
        return payload.get(self.incident_key) if self.incident_key else payload


WEBHOOK_EVENTS: dict[str, WebhookEvent] = {
    "public_incident.incident_created_v2": WebhookEvent(CREATED),
    "private_incident.incident_created_v2": WebhookEvent(CREATED, private=True),
    "public_incident.incident_updated_v2": WebhookEvent(UPDATED),
    "private_incident.incident_updated_v2": WebhookEvent(UPDATED, private=True),
    "public_incident.incident_status_updated_v2": WebhookEvent(
        UPDATED, incident_key="incident", status_change=True
    ),
}
"""Every incident.io webhook event rensei handles (ingest accepts these and no other, the
sandbox and ``rensei run`` read these), and what each one means."""


def parse_time(value: Any) -> datetime | None:
    """An incident.io timestamp as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resolved_payload(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The ``resolved`` payload: resolution time from the incident's own timestamps, root
    cause and impacted services from custom fields of those names."""
    custom = fields.get("custom_fields") or {}
    services = custom.get("Impacted Services") or []
    resolved_at = fields.get("resolved_at") or fields.get("updated_at")
    created, ended = parse_time(fields.get("created_at")), parse_time(resolved_at)
    seconds = max(0, int((ended - created).total_seconds())) if created and ended else None
    base = {k: v for k, v in fields.items() if k not in ("field", "old_value", "new_value")}
    return base | {
        "resolution_time": seconds,
        "resolved_at": resolved_at,
        "root_cause": custom.get("Root Cause"),
        "impacted_services": services if isinstance(services, list) else [services],
    }
