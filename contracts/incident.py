"""Models exchanged between the incident workflows, their activities and the API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.events import IncidentSnapshot
from interpreter.plan import Plan


class Hint(BaseModel):
    """Something may have changed: a webhook delivery, a sync poll, a sandbox nudge."""

    source: Literal["webhook", "sync", "sandbox", "manual"]
    webhook_id: str | None = None
    event_type: str | None = None
    received_at: str | None = None
    incident: dict[str, Any] | None = None
    """The whole incident a public ``incident_created_v2``/``incident_updated_v2`` delivery
    carried (checked by the webhook route, at most ``MAX_HINT_INCIDENT`` bytes of JSON); the
    incident workflow takes its fields instead of fetching them when it is not older than
    its snapshot."""


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


class LookupInput(BaseModel):
    """``definitions.lookup``: the definitions one batch of events considers."""

    workspace: str
    trigger_types: list[str]
    """The trigger types the batch can fire; plans come only for enabled ones of these."""


class LookupResult(BaseModel):
    """Every definition of the workspace; compiled plans for the enabled ones that match."""

    candidates: list[DefinitionCandidate] = Field(default_factory=list)

    def listens_to(self, trigger_type: str) -> bool:
        """Whether an enabled, valid definition has this trigger type."""
        return any(
            c.enabled and c.problem is None and c.trigger_type == trigger_type
            for c in self.candidates
        )


MAX_HINT_INCIDENT = 64 * 1024
"""Largest incident (JSON bytes) a hint carries; a larger one is fetched instead."""


class SnapshotInput(BaseModel):
    workspace: str
    incident_id: str
    incident: dict[str, Any] | None = None
    """``incident_io.sync.normalize``: the incident a webhook carried, to normalise."""
    entries: bool = True
    """``incident_io.sync.snapshot``: also read its updates and timeline items (2 calls)."""


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


class OwnWrite(BaseModel):
    """A run tells its incident's workflow what it is about to write, then what it wrote.

    ``intent`` is sent before the write, so events fetched while the write is in flight
    wait for ``done`` (or ``failed``) instead of being taken for someone else's change.
    ``entry_ids`` are timeline items and incident updates the write returned;
    ``fields`` the tracked values it set (``severity``: ``SEV-1``); ``updates`` how many
    incident updates it may have posted whose ids incident.io did not return.
    """

    workflow_id: str
    step_id: str
    phase: Literal["intent", "done", "failed"]
    entry_ids: list[str] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)
    updates: int = 0
