"""Input and output models of the ``incident_io.*`` nodes, with the field names YAML uses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Output(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class GetIncidentInput(_Input):
    """``incident_io.incident.get``: an incident id, ``INC-42`` or ``42``."""

    incident_id: str = Field(alias="incidentId")


class IncidentOutput(_Output):
    """A normalized incident: the fields every trigger payload carries."""

    id: str
    reference: str | None = None
    title: str | None = None
    summary: str | None = None
    severity: str | None = None
    severity_name: str | None = None
    status: str | None = None
    status_category: str | None = None
    team: str | None = None
    reporter: str | None = None
    url: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    custom_fields: dict[str, Any] = {}


class ListIncidentsInput(_Input):
    """``incident_io.incident.list``: open incidents by default, newest first."""

    status: str = "open"
    team: str | None = None
    severity: str | None = None
    limit: int = Field(default=25, ge=1, le=250)


class ListIncidentsOutput(_Output):
    incidents: list[IncidentOutput]
    count: int


class AcknowledgeIncidentInput(_Input):
    """``incident_io.incident.acknowledge``: accept triage, post ``message``, ack pages."""

    incident_id: str = Field(alias="incidentId")
    message: str | None = None


class AcknowledgeIncidentOutput(_Output):
    """What acknowledging did on incident.io, which has no "acknowledged" incident status.

    ``status`` is the incident's real status after the call; ``statusFrom``/``statusTo``
    the move made (``statusTo`` is null when the status did not move, and ``problem`` then
    says why when a move was wanted); ``escalationsAcknowledged`` the ids of the pages acked;
    ``updateId`` the incident update posted (null when none was).
    """

    incident_id: str = Field(alias="incidentId")
    status: str
    status_category: str = Field(alias="statusCategory")
    status_changed: bool = Field(alias="statusChanged")
    status_from: str = Field(alias="statusFrom")
    status_to: str | None = Field(default=None, alias="statusTo")
    escalations_acknowledged: list[str] = Field(
        default_factory=list, alias="escalationsAcknowledged"
    )
    update_id: str | None = Field(default=None, alias="updateId")
    problem: str | None = None


class ResolveIncidentInput(_Input):
    """``incident_io.incident.resolve``: move to post-incident (or closed)."""

    incident_id: str = Field(alias="incidentId")
    message: str | None = None


class ResolveIncidentOutput(_Output):
    incident_id: str = Field(alias="incidentId")
    status: str = "resolved"
    incident_status: str = Field(alias="incidentStatus")


class UpdateIncidentInput(_Input):
    """``incident_io.incident.update``: severity (SEV-n or name), status (name), name, summary."""

    incident_id: str = Field(alias="incidentId")
    severity: str | None = None
    status: str | None = None
    name: str | None = None
    summary: str | None = None


class EscalateIncidentInput(_Input):
    """``incident_io.incident.escalate``: page an escalation path or users for the incident."""

    incident_id: str = Field(alias="incidentId")
    escalation_path: str | None = Field(default=None, alias="escalationPath")
    users: list[str] | None = None
    title: str | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _path_xor_users(self) -> EscalateIncidentInput:
        if (self.escalation_path is None) == (not self.users):
            raise ValueError("give exactly one of 'escalationPath' or 'users'")
        return self


class EscalateIncidentOutput(_Output):
    escalation_id: str = Field(alias="escalationId")
    status: str


class AddTimelineEventInput(_Input):
    """``incident_io.timeline.add_event``: a custom timeline item.

    ``eventType`` other than ``custom`` prefixes the title as ``[eventType] title``.
    """

    incident_id: str = Field(alias="incidentId")
    event_type: str = Field(alias="eventType")
    title: str
    description: str | None = None


class AddTimelineEventOutput(_Output):
    id: str
    incident_id: str = Field(alias="incidentId")
    title: str
    timestamp: str
