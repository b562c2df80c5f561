"""Models exchanged between the incident workflows, their activities and the API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from contracts.events import IncidentSnapshot
from interpreter.plan import Plan


class Hint(BaseModel):
    """Something may have changed: a webhook delivery, a sync poll, a sandbox nudge."""

    source: Literal["webhook", "sync", "sandbox", "manual"]
    webhook_id: str | None = None
    event_type: str | None = None
    received_at: str | None = None


class WatchRequest(BaseModel):
    """A run waits on this incident: forward it every event after ``after_seq``."""

    workflow_id: str
    step_id: str
    after_seq: int = 0


class DefinitionCandidate(BaseModel):
    """A stored definition as the ``definitions.candidates`` activity reports it."""

    name: str
    version: int
    enabled: bool
    trigger_type: str
    plan: Plan | None = None
    problem: str | None = None


class CandidatesInput(BaseModel):
    workspace: str
    trigger_type: str


class SnapshotInput(BaseModel):
    workspace: str
    incident_id: str


class SnapshotResult(BaseModel):
    """The latest incident, or ``missing`` with incident.io's reason."""

    snapshot: IncidentSnapshot | None = None
    missing: str | None = None


class PollInput(BaseModel):
    """One sync poll: incidents updated after ``cursor`` (None: start from now)."""

    workspace: str
    cursor: str | None = None
    connected_at: str | None = None
    seen: list[str] = []
    """``id@updated_at`` of incidents already hinted inside the overlap before ``cursor``."""


class PollResult(BaseModel):
    cursor: str
    hinted: int = 0
    seen: list[str] = []
