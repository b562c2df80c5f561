"""Incident rules: creation defaults, field validation, status transitions, change + notify."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from simulators.incident_io import seed
from simulators.incident_io.errors import invalid, required
from simulators.incident_io.payloads import CreateIncidentPayload, RoleAssignmentPayload
from simulators.incident_io.records import IncidentRecord, Json, UpdateRecord
from simulators.incident_io.seed import CustomField, Status, Workspace

if TYPE_CHECKING:
    from simulators.incident_io.state import SimulatorState

DEFAULT_TYPE = seed.TYPE_DEFAULT
_SCALAR_KEYS = {"text": "value_text", "link": "value_link", "numeric": "value_numeric"}


def check_transition(current: Status, target: Status, *, field: str) -> None:
    """Enforces the API's status moves (spec, IncidentEditPayloadV2.incident_status_id)."""
    if current.category == target.category:
        return
    if current.category in ("triage", "live") and target.category in ("learning", "closed"):
        return
    if current.category == "learning" and target.category == "closed":
        return
    raise invalid(
        field,
        f"Cannot move an incident from {current.name} ({current.category}) to "
        f"{target.name} ({target.category}) through the API: allowed moves are within a "
        "category, from triage or live to learning or closed, and from learning to closed",
    )


def _normalize_value(ws: Workspace, cf: CustomField, value: Mapping[str, Any], where: str) -> Json:
    if cf.catalog_type_id is not None:
        # Catalog-backed fields take value_catalog_entry_id: "ID of the catalog entry. You can
        # also use an ExternalID or an Alias of the catalog entry." (spec,
        # CustomFieldValuePayloadV2); they have no options to pick by value_option_id.
        ident = value.get("value_catalog_entry_id")
        entry = ws.catalog_entry(cf.catalog_type_id, str(ident)) if ident else None
        if entry is None:
            raise invalid(
                where, f"{ident!r} is not an entry of the catalog behind the {cf.name!r} field"
            )
        return {"value_catalog_entry_id": entry.id}
    if cf.field_type in ("single_select", "multi_select"):
        option = value.get("value_option_id") or value.get("id")
        if option not in {o.id for o in cf.options}:
            raise invalid(where, f"{option!r} is not an option of the {cf.name!r} field")
        return {"value_option_id": option}
    key = _SCALAR_KEYS[cf.field_type]
    raw = value.get(key)
    if not isinstance(raw, str) or raw == "":
        raise invalid(where, f"{cf.name!r} is a {cf.field_type} field: set {key}")
    if cf.field_type == "numeric":
        try:
            float(raw)
        except ValueError:
            raise invalid(where, f"{key} must be a number written as a string") from None
    return {key: raw}


def normalize_custom_fields(
    ws: Workspace, entries: list[Json], *, field: str = "custom_field_entries"
) -> dict[str, list[Json]]:
    """Validates CustomFieldEntryPayloadV2 dicts; returns field id -> stored values."""
    result: dict[str, list[Json]] = {}
    for i, entry in enumerate(entries):
        where = f"{field}.{i}"
        field_id = str(entry.get("custom_field_id", ""))
        cf = ws.custom_field(field_id)
        if cf is None:
            raise invalid(f"{where}.custom_field_id", f"unknown custom field {field_id!r}")
        values = [
            _normalize_value(ws, cf, v, f"{where}.values.{j}")
            for j, v in enumerate(entry.get("values", []))
        ]
        if cf.field_type != "multi_select" and len(values) > 1:
            raise invalid(f"{where}.values", f"{cf.name!r} takes at most one value")
        result[cf.id] = values
    return result


def normalize_roles(
    ws: Workspace,
    assignments: list[RoleAssignmentPayload],
    *,
    allow_reporter: bool,
    field: str = "incident_role_assignments",
) -> dict[str, str | None]:
    """Validates role assignments; returns role id -> user id (None unassigns)."""
    result: dict[str, str | None] = {}
    for i, item in enumerate(assignments):
        role = ws.role(item.incident_role_id)
        if role is None:
            raise invalid(
                f"{field}.{i}.incident_role_id", f"unknown role {item.incident_role_id!r}"
            )
        if role.role_type == "reporter" and not allow_reporter:
            raise invalid(f"{field}.{i}", "The reporter role can only be assigned at creation")
        if item.assignee is None:
            result[role.id] = None
            continue
        ref = item.assignee
        user = ws.find_user(id=ref.id, email=ref.email, slack=ref.slack_user_id)
        if user is None:
            raise invalid(f"{field}.{i}.assignee", "no user matches the assignee reference")
        result[role.id] = user.id
    return result


def default_status(ws: Workspace, type_id: str | None) -> str:
    """Triage for types that always start there, otherwise the first live status."""
    kind = ws.incident_type(type_id or DEFAULT_TYPE)
    if kind is not None and kind.create_in_triage == "always":
        return min((s for s in ws.statuses if s.category == "triage"), key=lambda s: s.rank).id
    return min((s for s in ws.statuses if s.category == "live"), key=lambda s: s.rank).id


def _initial_status(ws: Workspace, body: CreateIncidentPayload) -> str:
    if body.incident_status_id is None:
        return default_status(ws, body.incident_type_id)
    status = ws.status(body.incident_status_id)
    if status is None:
        raise invalid("incident_status_id", f"unknown incident status {body.incident_status_id!r}")
    allowed = {"triage", "live"}
    if body.mode == "retrospective":
        allowed |= {"learning", "closed"}
    if status.category not in allowed:
        raise invalid(
            "incident_status_id",
            f"A new {body.mode or 'standard'} incident cannot start in {status.name} "
            f"({status.category})",
        )
    return status.id


def create_incident(
    state: SimulatorState, body: CreateIncidentPayload, *, actor: Json
) -> IncidentRecord:
    """`POST /v2/incidents`: validates, stores and announces; a repeated key returns the first."""
    ws = state.workspace
    existing = state.idempotency.get(("incident", body.idempotency_key))
    if existing is not None:
        return state.incidents[existing]
    if body.severity_id is not None and ws.severity(body.severity_id) is None:
        raise invalid("severity_id", f"unknown severity {body.severity_id!r}")
    kind = ws.incident_type(body.incident_type_id or DEFAULT_TYPE)
    if kind is None:
        raise invalid("incident_type_id", f"unknown incident type {body.incident_type_id!r}")
    if kind.private_incidents_only and body.visibility != "private":
        raise invalid("visibility", f"{kind.name} incidents must be private")
    status_id = _initial_status(ws, body)
    fields = [e.model_dump(exclude_none=True) for e in body.custom_field_entries or []]
    normalize_custom_fields(ws, fields)  # validate before anything is stored
    roles = normalize_roles(ws, body.incident_role_assignments or [], allow_reporter=True)
    number = None
    retro = body.retrospective_incident_options
    if retro is not None and retro.external_id is not None:
        if any(i.number == retro.external_id for i in state.incidents.values()):
            raise invalid("retrospective_incident_options.external_id", "external_id is taken")
        number = retro.external_id
    incident = state.create_incident(
        body.name or "Untitled incident",
        status_id=status_id,
        severity_id=body.severity_id,
        visibility=body.visibility,
        mode=body.mode or "standard",
        summary=body.summary,
        type_id=kind.id,
        custom_field_entries=fields,
        role_assignments={r: u for r, u in roles.items() if u is not None},
        creator=actor,
        number=number,
    )
    if body.slack_channel_name_override:
        incident.slack_channel_name = body.slack_channel_name_override
    state.idempotency[("incident", body.idempotency_key)] = incident.id
    state.notify_created(incident)
    return incident


def change_incident(
    state: SimulatorState,
    incident: IncidentRecord,
    changes: Mapping[str, Any],
    *,
    actor: Json,
    enforce_rules: bool = True,
    names: Mapping[str, str] | None = None,
    update_message: str | None = None,
    force_update: bool = False,
) -> UpdateRecord | None:
    """Applies IncidentEditPayloadV2-named `changes` (only the keys given) all-or-nothing.

    Records an incident update when the status or severity moves (or `force_update`),
    bumps `updated_at` and sends the webhooks when anything changed.
    """
    ws = state.workspace
    names = names or {}

    def where(name: str) -> str:
        return names.get(name, f"incident.{name}")

    status_id, severity_id = incident.status_id, incident.severity_id
    if changes.get("incident_status_id") is not None:
        target = ws.status(changes["incident_status_id"])
        if target is None:
            raise invalid(where("incident_status_id"), "unknown incident status")
        current = ws.status(incident.status_id)
        assert current is not None
        if enforce_rules:
            check_transition(current, target, field=where("incident_status_id"))
        status_id = target.id
    if changes.get("severity_id") is not None:
        if ws.severity(changes["severity_id"]) is None:
            raise invalid(where("severity_id"), "unknown severity")
        severity_id = changes["severity_id"]
    if "name" in changes and not changes["name"]:
        raise required(where("name"), "An incident needs a name")
    fields = normalize_custom_fields(
        ws, list(changes.get("custom_field_entries") or []), field=where("custom_field_entries")
    )
    roles = normalize_roles(
        ws,
        [
            RoleAssignmentPayload.model_validate(r)
            for r in changes.get("incident_role_assignments") or []
        ],
        allow_reporter=not enforce_rules,
        field=where("incident_role_assignments"),
    )
    before = _snapshot(incident)
    previous_status = incident.status_id
    incident.status_id, incident.severity_id = status_id, severity_id
    for attr in ("name", "summary", "call_url"):
        if changes.get(attr) is not None:
            setattr(incident, attr, changes[attr])
    if changes.get("slack_channel_name_override"):
        incident.slack_channel_name = changes["slack_channel_name_override"]
    incident.custom_fields.update(fields)
    for role_id, user_id in roles.items():
        if user_id is None:
            incident.role_assignments.pop(role_id, None)
        else:
            incident.role_assignments[role_id] = user_id
    moved = (status_id, severity_id) != (before["status_id"], before["severity_id"])
    update = None
    if moved or force_update:
        update = state.record_update(incident, updater=actor, message=update_message)
    if _snapshot(incident) != before:
        incident.updated_at = state.now()
        state.notify_updated(incident, previous_status)
    return update


def _snapshot(incident: IncidentRecord) -> Json:
    return {
        "status_id": incident.status_id,
        "severity_id": incident.severity_id,
        "name": incident.name,
        "summary": incident.summary,
        "call_url": incident.call_url,
        "slack_channel_name": incident.slack_channel_name,
        "custom_fields": {k: list(v) for k, v in incident.custom_fields.items()},
        "roles": dict(incident.role_assignments),
        "message": incident.most_recent_update_message,
    }
