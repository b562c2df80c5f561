"""Typed models of the incident.io API subset rensei uses.

Lenient on purpose (incident.io adds fields and enum values without notice): unknown
fields are kept, enums are plain strings, and only what rensei reads is required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """Base of every API model: unknown fields are kept, never rejected."""

    model_config = ConfigDict(extra="allow")


class Identity(ApiModel):
    name: str
    dashboard_url: str | None = None
    roles: list[str] = []


class Severity(ApiModel):
    id: str
    name: str
    rank: int
    description: str | None = None


class IncidentStatus(ApiModel):
    id: str
    name: str
    rank: int = 0
    category: str
    description: str | None = None


class CustomField(ApiModel):
    id: str
    name: str
    field_type: str
    description: str | None = None
    catalog_type_id: str | None = None
    """Set when the field's values are entries of a catalog type (how teams are modelled)."""


class CatalogEntry(ApiModel):
    id: str
    catalog_type_id: str
    name: str
    external_id: str | None = None
    aliases: list[str] = []


class CustomFieldOption(ApiModel):
    id: str
    custom_field_id: str
    value: str
    sort_key: int = 0


class Incident(ApiModel):
    id: str
    reference: str
    name: str
    incident_status: IncidentStatus
    severity: Severity | None = None
    summary: str | None = None
    permalink: str | None = None
    visibility: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    custom_field_entries: list[dict[str, Any]] = []
    incident_role_assignments: list[dict[str, Any]] = []
    creator: dict[str, Any] = {}


class IncidentUpdate(ApiModel):
    id: str
    incident_id: str
    created_at: str
    message: str | None = None
    new_incident_status: IncidentStatus | None = None
    new_severity: Severity | None = None


class TimelineItem(ApiModel):
    id: str
    incident_id: str
    title: str
    timestamp: str
    description: str | None = None


class Escalation(ApiModel):
    id: str
    status: str
    title: str
    escalation_path_id: str | None = None
    related_incidents: list[dict[str, Any]] = []


class EscalationPath(ApiModel):
    id: str
    name: str


class User(ApiModel):
    id: str
    name: str
    email: str | None = None
