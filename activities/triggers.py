"""Trigger payloads: what a definition reads under ``$trigger.incident_io``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_id: str = Field(description="incident.io's incident id")
    reference: str | None = Field(default=None, description="INC-123")
    title: str | None = None
    summary: str | None = None
    severity: str | None = Field(
        default=None,
        description="the workspace severity's own level: SEV-1 (most severe), SEV-2, ... "
        "one per severity",
    )
    severity_name: str | None = Field(default=None, description="the workspace's own severity name")
    status: str | None = None
    status_category: str | None = None
    team: str | None = Field(
        default=None, description="the value of the workspace's team field (often catalog-backed)"
    )
    reporter: str | None = None
    url: str | None = None
    visibility: str | None = None
    incident_type: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class IncidentCreatedPayload(_Payload):
    """``trigger.incident_io.incident.created``: a new incident was reported."""


class IncidentUpdatedPayload(_Payload):
    """``trigger.incident_io.incident.updated``: one field changed (one event per field)."""

    field: str
    old_value: Any = None
    new_value: Any = None


class IncidentResolvedPayload(_Payload):
    """``trigger.incident_io.incident.resolved``: the incident moved to post-incident or closed."""

    resolution_time: int | None = Field(
        default=None, description="seconds from creation to resolution"
    )
    resolved_at: str | None = None
    root_cause: str | None = None
    impacted_services: list[str] = Field(default_factory=list)


TRIGGER_MODELS: dict[str, type[_Payload]] = {
    "trigger.incident_io.incident.created": IncidentCreatedPayload,
    "trigger.incident_io.incident.updated": IncidentUpdatedPayload,
    "trigger.incident_io.incident.resolved": IncidentResolvedPayload,
}
