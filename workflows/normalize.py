"""Pure translation of incident.io incidents and webhook bodies into trigger payloads.

Deterministic and free of I/O, so the per-incident workflow and the CLI share it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

CREATED = "trigger.incident_io.incident.created"
UPDATED = "trigger.incident_io.incident.updated"
RESOLVED = "trigger.incident_io.incident.resolved"

_SEV_NAME = re.compile(r"^\s*(?:sev|p)\s*-?\s*([1-4])\b", re.IGNORECASE)
RESOLVED_CATEGORIES = frozenset({"learning", "closed"})

WEBHOOK_TRIGGERS = {
    "public_incident.incident_created_v2": CREATED,
    "private_incident.incident_created_v2": CREATED,
    "public_incident.incident_updated_v2": UPDATED,
    "private_incident.incident_updated_v2": UPDATED,
    "public_incident.incident_status_updated_v2": UPDATED,
}


class EventFormatError(ValueError):
    """An event document is neither a trigger payload nor an incident.io webhook body."""


def severity_level(
    severity: Mapping[str, Any] | None,
    *,
    catalogue: Sequence[Mapping[str, Any]] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> str | None:
    """Maps a workspace severity onto ``SEV-1`` (most severe) .. ``SEV-4``.

    An override by severity name or id wins; then a name such as ``SEV1`` or ``P2``;
    then the rank among the workspace's severities (highest rank is SEV-1). Without a
    catalogue, incident.io's default ranks are assumed (3 Critical, 2 Major, 1 Minor).
    """
    if not severity:
        return None
    name = str(severity.get("name", ""))
    if overrides:
        for key in (str(severity.get("id", "")), name):
            if key in overrides:
                return overrides[key]
    match = _SEV_NAME.match(name)
    if match:
        return f"SEV-{match.group(1)}"
    rank = severity.get("rank")
    if not isinstance(rank, int | float):
        return None
    if catalogue:
        ranks = sorted(
            {int(s["rank"]) for s in catalogue if isinstance(s.get("rank"), int | float)},
            reverse=True,
        )
        position = ranks.index(int(rank)) if int(rank) in ranks else len(ranks) - 1
        return f"SEV-{min(position + 1, 4)}"
    return f"SEV-{max(1, min(4, 4 - int(rank)))}"


def custom_fields(incident: Mapping[str, Any]) -> dict[str, Any]:
    """Custom field values by field name: text for single values, lists for multi-selects."""
    fields: dict[str, Any] = {}
    for entry in incident.get("custom_field_entries") or []:
        field = entry.get("custom_field") or {}
        values = [_value_text(v) for v in entry.get("values") or []]
        values = [v for v in values if v is not None]
        if field.get("field_type") == "multi_select":
            fields[str(field.get("name"))] = values
        else:
            fields[str(field.get("name"))] = values[0] if values else None
    return fields


def _value_text(value: Mapping[str, Any]) -> str | None:
    option = value.get("value_option")
    if option:
        return str(option.get("value"))
    entry = value.get("value_catalog_entry")
    if entry:
        return str(entry.get("name"))
    for key in ("value_text", "value_link", "value_numeric"):
        if value.get(key) is not None:
            return str(value[key])
    return None


def _role_assignee(incident: Mapping[str, Any], role_type: str) -> str | None:
    for assignment in incident.get("incident_role_assignments") or []:
        if (assignment.get("role") or {}).get("role_type") == role_type and assignment.get(
            "assignee"
        ):
            return str(assignment["assignee"].get("name"))
    return None


def incident_fields(
    incident: Mapping[str, Any],
    *,
    severities: Sequence[Mapping[str, Any]] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The normalized incident fields every trigger payload carries."""
    status = incident.get("incident_status") or {}
    severity = incident.get("severity")
    fields = custom_fields(incident)
    creator = incident.get("creator") or {}
    reporter = _role_assignee(incident, "reporter") or next(
        (
            str(v.get("name"))
            for k in ("user", "api_key", "workflow", "alert")
            if (v := creator.get(k))
        ),
        None,
    )
    team = fields.get("Team")
    return {
        "incident_id": str(incident.get("id")),
        "reference": incident.get("reference"),
        "title": incident.get("name"),
        "summary": incident.get("summary"),
        "severity": severity_level(severity, catalogue=severities, overrides=overrides),
        "severity_name": severity.get("name") if severity else None,
        "status": status.get("name"),
        "status_category": status.get("category"),
        "team": team[0] if isinstance(team, list) and team else team,
        "reporter": reporter,
        "url": incident.get("permalink"),
        "visibility": incident.get("visibility"),
        "incident_type": (incident.get("incident_type") or {}).get("name"),
        "created_at": incident.get("created_at"),
        "updated_at": incident.get("updated_at"),
        "custom_fields": fields,
    }


def trigger_from_document(document: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Reads an event file: a trigger payload (``{"incident_io": {...}}``) or a webhook body.

    Returns:
        The trigger type the document implies (None for a bare payload) and the
        ``$trigger`` value.

    Raises:
        EventFormatError: the document is neither.
    """
    if "incident_io" in document and isinstance(document["incident_io"], Mapping):
        return None, {"incident_io": dict(document["incident_io"])}
    event_type = document.get("event_type")
    if not isinstance(event_type, str):
        raise EventFormatError(
            'expected a trigger payload {"incident_io": {...}} or an incident.io webhook body '
            '{"event_type": ..., <event_type>: {...}}'
        )
    if event_type not in WEBHOOK_TRIGGERS:
        raise EventFormatError(f"event type '{event_type}' does not start workflows")
    body = document.get(event_type)
    if not isinstance(body, Mapping):
        raise EventFormatError(f"the body has no '{event_type}' object")
    incident = body.get("incident", body)
    if set(incident) == {"id"}:
        raise EventFormatError(
            "this is a private-incident event ({id} only): rensei fetches the incident from "
            "incident.io; save the incident itself as the event instead"
        )
    payload = incident_fields(incident)
    trigger = WEBHOOK_TRIGGERS[event_type]
    if event_type.endswith("status_updated_v2"):
        previous = (body.get("previous_status") or {}).get("name")
        payload |= {"field": "status", "old_value": previous, "new_value": payload["status"]}
        if payload["status_category"] in RESOLVED_CATEGORIES:
            trigger = RESOLVED
            payload = resolved_payload(payload)
    elif trigger == UPDATED:
        payload |= {"field": "incident", "old_value": None, "new_value": None}
    return trigger, {"incident_io": payload}


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
