"""Pure translation of incident.io incidents and webhook bodies into trigger payloads.

Deterministic and free of I/O: the snapshot activity, the incident.io nodes, the API and
the CLI share it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from contracts.triggers import (
    RESOLVED,
    RESOLVED_CATEGORIES,
    UPDATED,
    WEBHOOK_EVENTS,
    resolved_payload,
)


class EventFormatError(ValueError):
    """An event document is neither a trigger payload nor an incident.io webhook body."""


LEVEL_FORM = re.compile(r"^\s*sev-([1-9][0-9]?)\s*$", re.IGNORECASE)
"""rensei's own level names: ``SEV-1`` .. ``SEV-99``, always with the dash."""


def severity_levels(
    catalogue: Sequence[Mapping[str, Any]], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Maps every workspace severity id onto a distinct rensei level ``SEV-n``.

    Overrides (by severity name or id) are placed first; the other severities then take
    the free levels in rank order, most severe (highest rank) first, ties by id. So a
    workspace with n severities gets SEV-1..SEV-n, names never repeat and every level
    names one severity. An override naming a level already taken by an earlier override
    is ignored, keeping the mapping one-to-one.
    """
    ordered = sorted(
        (s for s in catalogue if s.get("id") is not None),
        key=lambda s: (-_rank(s), str(s.get("id"))),
    )
    levels: dict[str, str] = {}
    taken: set[str] = set()
    for severity in ordered:
        for key in (str(severity.get("id")), str(severity.get("name", ""))):
            wanted = canonical_level((overrides or {}).get(key))
            if wanted is not None and wanted not in taken:
                levels[str(severity["id"])] = wanted
                taken.add(wanted)
                break
    number = 1
    for severity in ordered:
        if str(severity["id"]) in levels:
            continue
        while f"SEV-{number}" in taken:
            number += 1
        levels[str(severity["id"])] = f"SEV-{number}"
        taken.add(f"SEV-{number}")
    return levels


def _rank(severity: Mapping[str, Any]) -> float:
    rank = severity.get("rank")
    return float(rank) if isinstance(rank, int | float) else float("-inf")


def canonical_level(level: str | None) -> str | None:
    """``SEV-n`` for a level written ``sev-n``/`` SEV-07 ``; None when it is not one."""
    match = LEVEL_FORM.match(level or "")
    return f"SEV-{int(match.group(1))}" if match else None


def severity_level(
    severity: Mapping[str, Any] | None,
    *,
    catalogue: Sequence[Mapping[str, Any]] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> str | None:
    """The rensei level (``SEV-1`` most severe) of a workspace severity.

    With the workspace's catalogue, see ``severity_levels``. Without one (an event file
    read offline), incident.io's default ranks are assumed (3 Critical is SEV-1, 2 Major
    SEV-2, 1 Minor SEV-3), and an override by name or id still wins.
    """
    if not severity:
        return None
    if catalogue:
        known = severity_levels(catalogue, overrides)
        level = known.get(str(severity.get("id")))
        if level is not None:
            return level
    for key in (str(severity.get("id", "")), str(severity.get("name", ""))):
        wanted = canonical_level((overrides or {}).get(key))
        if wanted is not None:
            return wanted
    rank = severity.get("rank")
    if not isinstance(rank, int | float):
        return None
    return f"SEV-{max(1, 4 - int(rank))}"


_TEAM_WORD = re.compile(r"\bteams?\b", re.IGNORECASE)


def team_field_choice(
    fields: Sequence[Mapping[str, Any]], preference: str | None = None
) -> tuple[Mapping[str, Any] | None, str | None]:
    """Which custom field holds the incident's team, and why none when none does.

    incident.io models teams as custom fields, usually catalog-backed ("Affected Team",
    "Owning team"), so the field is the workspace's chosen one (``preference``: its name or
    id) or else the only field with the word "team" in its name.

    Returns:
        ``(field, None)``, or ``(None, problem)`` naming what to set.
    """
    if preference:
        wanted = preference.strip().casefold()
        for field in fields:
            if wanted in (str(field.get("id", "")).casefold(), str(field.get("name")).casefold()):
                return field, None
        names = ", ".join(str(f.get("name")) for f in fields) or "none"
        return None, (
            f"the team field '{preference}' set for this workspace is not one of its custom "
            f"fields ({names})"
        )
    candidates = [f for f in fields if _TEAM_WORD.search(str(f.get("name", "")))]
    if len(candidates) == 1:
        return candidates[0], None
    if not candidates:
        return None, "no custom field of this workspace has 'team' in its name"
    names = ", ".join(repr(str(f.get("name"))) for f in candidates)
    return None, (
        f"several custom fields could hold the team ({names}): choose one under "
        "Settings -> Integrations (team field)"
    )


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
    team_field: str | None = None,
) -> dict[str, Any]:
    """The normalized incident fields every trigger payload carries.

    ``severity`` is the rensei level and ``severity_name`` the workspace's own name;
    ``team`` is the value of the team field (see ``team_field_choice``).
    """
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
    entries = incident.get("custom_field_entries") or []
    chosen, _ = team_field_choice(
        [e.get("custom_field") or {} for e in entries if isinstance(e, Mapping)], team_field
    )
    team = fields.get(str(chosen.get("name"))) if chosen is not None else None
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
    event = WEBHOOK_EVENTS.get(event_type)
    if event is None:
        raise EventFormatError(f"event type '{event_type}' does not start workflows")
    body = document.get(event_type)
    if not isinstance(body, Mapping):
        raise EventFormatError(f"the body has no '{event_type}' object")
    incident = event.incident_of(body)
    if not isinstance(incident, Mapping):
        raise EventFormatError(f"the '{event_type}' object has no '{event.incident_key}' object")
    if event.private or set(incident) == {"id"}:
        raise EventFormatError(
            "this is a private-incident event ({id} only): rensei fetches the incident from "
            "incident.io; save the incident itself as the event instead"
        )
    payload = incident_fields(incident)
    trigger = event.trigger
    if event.status_change:
        previous = (body.get("previous_status") or {}).get("name")
        payload |= {"field": "status", "old_value": previous, "new_value": payload["status"]}
        if payload["status_category"] in RESOLVED_CATEGORIES:
            trigger = RESOLVED
            payload = resolved_payload(payload)
    elif trigger == UPDATED:
        payload |= {"field": "incident", "old_value": None, "new_value": None}
    return trigger, {"incident_io": payload}
