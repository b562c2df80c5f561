"""Request bodies the simulator accepts, modelled on the spec's *PayloadV2 schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    # incident.io's Go (goa) decoder ignores unknown fields, so we do too.
    model_config = ConfigDict(extra="ignore")


class CustomFieldValuePayload(Payload):
    id: str | None = None
    value_option_id: str | None = None
    value_catalog_entry_id: str | None = None
    value_text: str | None = None
    value_link: str | None = None
    value_numeric: str | None = None
    value_timestamp: str | None = None


class CustomFieldEntryPayload(Payload):
    custom_field_id: str
    values: list[CustomFieldValuePayload]


class UserReferencePayload(Payload):
    id: str | None = None
    email: str | None = None
    slack_user_id: str | None = None


class RoleAssignmentPayload(Payload):
    incident_role_id: str
    assignee: UserReferencePayload | None = None


class RetrospectiveOptionsPayload(Payload):
    external_id: int | None = None
    postmortem_document_url: str | None = None
    slack_channel_id: str | None = None


Mode = Literal["standard", "retrospective", "test", "tutorial"]


class CreateIncidentPayload(Payload):
    idempotency_key: str = Field(min_length=1)
    visibility: Literal["public", "private"]
    name: str | None = None
    summary: str | None = None
    mode: Mode | None = None
    severity_id: str | None = None
    incident_status_id: str | None = None
    incident_type_id: str | None = None
    slack_team_id: str | None = None
    slack_channel_name_override: str | None = None
    custom_field_entries: list[CustomFieldEntryPayload] | None = None
    incident_role_assignments: list[RoleAssignmentPayload] | None = None
    retrospective_incident_options: RetrospectiveOptionsPayload | None = None


class IncidentEditFields(Payload):
    name: str | None = None
    summary: str | None = None
    call_url: str | None = None
    severity_id: str | None = None
    incident_status_id: str | None = None
    slack_channel_name_override: str | None = None
    custom_field_entries: list[CustomFieldEntryPayload] | None = None
    incident_role_assignments: list[RoleAssignmentPayload] | None = None


class EditIncidentPayload(Payload):
    incident: IncidentEditFields
    notify_incident_channel: bool


class CreateUpdatePayload(Payload):
    idempotency_key: str = Field(min_length=1)
    incident_id: str = Field(min_length=1)
    message: str | None = None
    to_incident_status_id: str | None = None
    to_severity_id: str | None = None


class CreateTimelineItemPayload(Payload):
    idempotency_key: str = Field(min_length=1)
    incident_id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    timestamp: datetime
    description: str | None = None


class CreateEscalationPayload(Payload):
    idempotency_key: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str | None = None
    escalation_path_id: str | None = None
    user_ids: list[str] | None = None
    incident_id: str | None = None


class SnoozeDetailsPayload(Payload):
    reason: str | None = None
    snooze_until: datetime | None = None


class RespondEscalationPayload(Payload):
    response: Literal["ack", "nack", "snooze"]
    snooze_details: SnoozeDetailsPayload | None = None


class SimIncidentPayload(Payload):
    """`POST /_sim/incidents`: an incident declared by a person in the dashboard."""

    name: str = Field(min_length=1)
    summary: str | None = None
    severity_id: str | None = None
    incident_status_id: str | None = None
    incident_type_id: str | None = None
    visibility: Literal["public", "private"] = "public"
    mode: Mode = "standard"
    user_id: str | None = None
    custom_field_entries: list[CustomFieldEntryPayload] | None = None


class SimStatusPayload(Payload):
    incident_status_id: str
    message: str | None = None
    user_id: str | None = None


class SimSeverityPayload(Payload):
    severity_id: str
    user_id: str | None = None


class WebhookConfigPayload(Payload):
    url: str | None = None
    secret: str | None = None
