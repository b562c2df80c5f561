"""The incident.io trigger types, the webhook events that map to them, and the pure helpers
the per-incident workflow applies to normalized incident fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

CREATED = "trigger.incident_io.incident.created"
UPDATED = "trigger.incident_io.incident.updated"
RESOLVED = "trigger.incident_io.incident.resolved"

RESOLVED_CATEGORIES = frozenset({"learning", "closed"})

WEBHOOK_TRIGGERS = {
    "public_incident.incident_created_v2": CREATED,
    "private_incident.incident_created_v2": CREATED,
    "public_incident.incident_updated_v2": UPDATED,
    "private_incident.incident_updated_v2": UPDATED,
    "public_incident.incident_status_updated_v2": UPDATED,
}
"""Every incident.io webhook event rensei handles (ingest accepts these and no other), and
the trigger type each one means."""


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
