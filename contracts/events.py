"""Incident snapshots and lifecycle events: what the snapshot activity returns, what the
per-incident workflow diffs and forwards to its runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.triggers import CREATED, RESOLVED, UPDATED

EventKind = Literal["created", "updated", "resolved"]
TRIGGER_OF: dict[EventKind, str] = {"created": CREATED, "updated": UPDATED, "resolved": RESOLVED}


class TimelineEntry(BaseModel):
    """An incident update or a timeline item, as the ``new_value`` of a timeline event."""

    id: str
    kind: Literal["incident_update", "timeline_item"]
    at: str | None = None
    title: str | None = None
    message: str | None = None
    author: str | None = None


class IncidentSnapshot(BaseModel):
    """What the per-incident workflow keeps of an incident between hints.

    ``fields`` are the normalized trigger fields; ``tracked`` the values whose changes are
    events (severity, status, name, summary, incident_type, roles.<role>,
    custom_fields.<name>); ``entries`` the newest updates and timeline items.
    """

    fields: dict[str, Any]
    tracked: dict[str, Any]
    entries: list[TimelineEntry] = Field(default_factory=list)


class IncidentEvent(BaseModel):
    """One normalized lifecycle event; ``payload`` is what ``$trigger.incident_io`` holds."""

    seq: int
    kind: EventKind
    field: str | None = None
    payload: dict[str, Any]

    @property
    def trigger_type(self) -> str:
        return TRIGGER_OF[self.kind]

    @property
    def key(self) -> str:
        """Stable within one incident: part of the child workflow ids it starts."""
        return f"{self.seq}-{self.kind}" + (f"-{self.field}" if self.field else "")


def tracked_values(fields: dict[str, Any], *, roles: dict[str, str | None]) -> dict[str, Any]:
    """The values whose changes are ``updated`` events."""
    values: dict[str, Any] = {
        "severity": fields.get("severity"),
        "severity_name": fields.get("severity_name"),
        "status": fields.get("status"),
        "name": fields.get("title"),
        "summary": fields.get("summary"),
        "incident_type": fields.get("incident_type"),
    }
    for role, assignee in sorted(roles.items()):
        values[f"roles.{role}"] = assignee
    for name, value in sorted((fields.get("custom_fields") or {}).items()):
        values[f"custom_fields.{name}"] = value
    return values
