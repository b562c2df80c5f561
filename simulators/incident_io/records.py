"""Mutable records the simulator stores, and their rendering into the API's JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulators.incident_io.seed import (
    ApiKey,
    CatalogEntry,
    CatalogType,
    CustomField,
    EscalationPath,
    IncidentType,
    Role,
    Severity,
    Status,
    User,
    Workspace,
)

Json = dict[str, Any]

# IncidentSlimV2 (escalations, incident alerts) still uses the dashboard's category names.
_SLIM_CATEGORY = {"live": "active", "learning": "post-incident"}


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as incident.io writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class IncidentRecord:
    id: str
    number: int
    name: str
    status_id: str
    visibility: str
    mode: str
    creator: Json
    created_at: datetime
    updated_at: datetime
    summary: str | None = None
    severity_id: str | None = None
    type_id: str | None = None
    call_url: str | None = None
    slack_channel_id: str = ""
    slack_channel_name: str = ""
    # field id -> values in payload form ({"value_option_id": ...} / {"value_text": ...})
    custom_fields: dict[str, list[Json]] = field(default_factory=dict)
    # role id -> user id
    role_assignments: dict[str, str] = field(default_factory=dict)
    most_recent_update_message: str | None = None

    @property
    def reference(self) -> str:
        return f"INC-{self.number}"


@dataclass
class UpdateRecord:
    id: str
    incident_id: str
    status_id: str
    updater: Json
    created_at: datetime
    severity_id: str | None = None
    message: str | None = None


@dataclass
class TimelineItemRecord:
    id: str
    incident_id: str
    title: str
    timestamp: datetime
    creator: Json
    created_at: datetime
    description: str | None = None


@dataclass
class EscalationRecord:
    id: str
    title: str
    description: str
    status: str
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    user_ids: list[str]
    events: list[Json]
    escalation_path_id: str | None = None
    incident_id: str | None = None


def api_key_actor(key: ApiKey) -> Json:
    return {"api_key": {"id": key.id, "name": key.name}}


def user_json(user: User) -> Json:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "slack_user_id": user.slack_user_id,
        "role": user.role,
    }


def severity_json(sev: Severity, ws: Workspace) -> Json:
    return {
        "id": sev.id,
        "name": sev.name,
        "description": sev.description,
        "rank": sev.rank,
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.created_at),
    }


def status_json(status: Status, ws: Workspace) -> Json:
    return {
        "id": status.id,
        "name": status.name,
        "description": status.description,
        "rank": status.rank,
        "category": status.category,
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.created_at),
    }


def option_json(field_id: str, option: Any) -> Json:
    return {
        "id": option.id,
        "custom_field_id": field_id,
        "value": option.value,
        "sort_key": option.sort_key,
    }


def custom_field_json(cf: CustomField, ws: Workspace) -> Json:
    body: Json = {
        "id": cf.id,
        "name": cf.name,
        "description": cf.description,
        "field_type": cf.field_type,
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.created_at),
    }
    if cf.catalog_type_id is not None:
        body["catalog_type_id"] = cf.catalog_type_id
    return body


def catalog_entry_json(entry: CatalogEntry, ws: Workspace) -> Json:
    """CatalogEntryV3 (no attributes: the seeded catalog types have none)."""
    return {
        "id": entry.id,
        "catalog_type_id": entry.catalog_type_id,
        "name": entry.name,
        "external_id": entry.external_id,
        "aliases": list(entry.aliases),
        "rank": entry.rank,
        "attribute_values": {},
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.created_at),
    }


def catalog_type_json(kind: CatalogType, ws: Workspace) -> Json:
    """CatalogTypeV3 with every required field."""
    return {
        "id": kind.id,
        "name": kind.name,
        "description": kind.description,
        "type_name": kind.type_name,
        "engine_resource_type": kind.type_name,
        "ranked": False,
        "schema": {"attributes": [], "version": 1},
        "icon": "users",
        "categories": ["team"],
        "color": "blue",
        "is_editable": True,
        "annotations": {},
        "use_name_as_identifier": True,
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.created_at),
    }


def role_json(role: Role, ws: Workspace) -> Json:
    return {
        "id": role.id,
        "name": role.name,
        "shortform": role.shortform,
        "description": role.description,
        "instructions": role.instructions,
        "role_type": role.role_type,
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.created_at),
    }


def incident_type_json(kind: IncidentType, ws: Workspace) -> Json:
    return {
        "id": kind.id,
        "name": kind.name,
        "description": kind.description,
        "is_default": kind.is_default,
        "private_incidents_only": kind.private_incidents_only,
        "create_in_triage": kind.create_in_triage,
        "created_at": iso(ws.created_at),
        "updated_at": iso(ws.created_at),
    }


def _value_json(cf: CustomField, value: Json, ws: Workspace) -> Json:
    if "value_catalog_entry_id" in value:
        entry = next(e for e in ws.catalog_entries if e.id == value["value_catalog_entry_id"])
        return {
            "value_catalog_entry": {
                "id": entry.id,
                "name": entry.name,
                "external_id": entry.external_id,
                "aliases": list(entry.aliases),
            }
        }
    if "value_option_id" in value:
        option = next(o for o in cf.options if o.id == value["value_option_id"])
        return {"value_option": option_json(cf.id, option)}
    return {k: v for k, v in value.items() if k in ("value_text", "value_link", "value_numeric")}


def incident_json(inc: IncidentRecord, ws: Workspace) -> Json:
    """Renders an incident as IncidentV2."""
    status = ws.status(inc.status_id)
    assert status is not None, inc.status_id
    body: Json = {
        "id": inc.id,
        "reference": inc.reference,
        "name": inc.name,
        "incident_status": status_json(status, ws),
        "visibility": inc.visibility,
        "mode": inc.mode,
        "creator": inc.creator,
        "permalink": f"{ws.dashboard_url}/incidents/{inc.number}",
        "slack_team_id": ws.slack_team_id,
        "slack_channel_id": inc.slack_channel_id,
        "slack_channel_name": inc.slack_channel_name,
        "created_at": iso(inc.created_at),
        "updated_at": iso(inc.updated_at),
        "incident_role_assignments": [],
        "custom_field_entries": [],
    }
    if inc.summary is not None:
        body["summary"] = inc.summary
    if inc.call_url is not None:
        body["call_url"] = inc.call_url
    severity = ws.severity(inc.severity_id) if inc.severity_id else None
    if severity is not None:
        body["severity"] = severity_json(severity, ws)
    kind = ws.incident_type(inc.type_id) if inc.type_id else None
    if kind is not None:
        body["incident_type"] = incident_type_json(kind, ws)
    for role in ws.roles:
        assignment: Json = {"role": role_json(role, ws)}
        user = ws.user(inc.role_assignments.get(role.id, ""))
        if user is not None:
            assignment["assignee"] = user_json(user)
        body["incident_role_assignments"].append(assignment)
    for cf in ws.custom_fields:
        info = {
            "id": cf.id,
            "name": cf.name,
            "description": cf.description,
            "field_type": cf.field_type,
            "options": [option_json(cf.id, o) for o in cf.options],
        }
        values = [_value_json(cf, v, ws) for v in inc.custom_fields.get(cf.id, [])]
        body["custom_field_entries"].append({"custom_field": info, "values": values})
    return body


def webhook_incident_json(inc: IncidentRecord, ws: Workspace, related: list[str]) -> Json:
    """Renders an incident as WebhookIncidentV2 (IncidentV2 plus two webhook-only fields)."""
    body = incident_json(inc, ws)
    if inc.most_recent_update_message is not None:
        body["most_recent_update_message"] = inc.most_recent_update_message
    body["related_incidents"] = related
    return body


def incident_slim_json(inc: IncidentRecord, ws: Workspace) -> Json:
    """Renders an incident as IncidentSlimV2, with its `active`/`post-incident` categories."""
    status = ws.status(inc.status_id)
    assert status is not None, inc.status_id
    body: Json = {
        "id": inc.id,
        "external_id": inc.number,
        "reference": inc.reference,
        "name": inc.name,
        "status_category": _SLIM_CATEGORY.get(status.category, status.category),
        "visibility": inc.visibility,
    }
    if inc.summary is not None:
        body["summary"] = inc.summary
    return body


def update_json(update: UpdateRecord, ws: Workspace) -> Json:
    """Renders an incident update as IncidentUpdateV2."""
    status = ws.status(update.status_id)
    assert status is not None, update.status_id
    body: Json = {
        "id": update.id,
        "incident_id": update.incident_id,
        "created_at": iso(update.created_at),
        "updater": update.updater,
        "new_incident_status": status_json(status, ws),
    }
    severity = ws.severity(update.severity_id) if update.severity_id else None
    if severity is not None:
        body["new_severity"] = severity_json(severity, ws)
    if update.message is not None:
        body["message"] = update.message
    return body


def timeline_item_json(item: TimelineItemRecord) -> Json:
    """Renders a timeline item as IncidentTimelineItemV2."""
    body: Json = {
        "id": item.id,
        "incident_id": item.incident_id,
        "title": item.title,
        "timestamp": iso(item.timestamp),
        "creator": item.creator,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.created_at),
    }
    if item.description is not None:
        body["description"] = item.description
    return body


def escalation_json(esc: EscalationRecord, ws: Workspace, incident: IncidentRecord | None) -> Json:
    """Renders an escalation as EscalationV2."""
    body: Json = {
        "id": esc.id,
        "title": esc.title,
        "description": esc.description,
        "status": esc.status,
        "priority": {"name": "High"},
        # EscalationCreatorV2 has no api_key variant, so an API-created escalation has none.
        "creator": {},
        "events": esc.events,
        "related_alerts": [],
        "related_incidents": [incident_slim_json(incident, ws)] if incident else [],
        "created_at": iso(esc.created_at),
        "updated_at": iso(esc.updated_at),
    }
    if esc.escalation_path_id is not None:
        body["escalation_path_id"] = esc.escalation_path_id
    return body


def escalation_path_json(path: EscalationPath, ws: Workspace) -> Json:
    """Renders an escalation path as EscalationPathV2: one level paging its users at once."""
    users = [u for u in (ws.user(i) for i in path.user_ids) if u is not None]
    return {
        "id": path.id,
        "name": path.name,
        "team_ids": [],
        "current_responders": [user_json(u) for u in users],
        "path": [
            {
                "id": f"{path.id}-L1",
                "type": "level",
                "level": {
                    "targets": [{"type": "user", "id": u.id, "urgency": "high"} for u in users],
                    "ack_mode": "all",
                    "time_to_ack_seconds": 300,
                },
            }
        ],
    }


_BASE_ROLES = {
    "owner": ("01JB0SEED0RBR0000000000001", "Owner", "owner"),
    "administrator": ("01JB0SEED0RBR0000000000002", "Administrator", "administrator"),
    "responder": ("01JB0SEED0RBR0000000000003", "Responder", "responder"),
    "viewer": ("01JB0SEED0RBR0000000000004", "Viewer", "viewer"),
}


def user_with_roles_json(user: User) -> Json:
    """Renders a user as UserWithRolesV2 (base role from the deprecated `role`)."""
    role_id, name, slug = _BASE_ROLES.get(user.role, _BASE_ROLES["viewer"])
    seat = "viewer_only" if user.role == "viewer" else "full_access"
    return user_json(user) | {
        "is_active": True,
        "base_role": {"id": role_id, "name": name, "slug": slug},
        "custom_roles": [],
        "seats": {"on_call": seat, "response": seat},
    }
