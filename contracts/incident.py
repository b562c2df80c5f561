"""Models exchanged between the incident workflows, their activities and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.events import IncidentEvent, IncidentSnapshot
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.runs import RunResult
from interpreter.expressions import values_equal
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
    updated_at: str | None = None
    """The incident's ``updated_at`` a sync poll saw: a workflow whose snapshot is not older
    fetches nothing for it (a webhook brought that version already)."""


class WatchRequest(BaseModel):
    """A run waits on this incident: forward it the events after ``after_seq`` it waits for.

    With ``event`` set (``incident_io.incident.wait_for`` sends its inputs), the incident's
    workflow forwards only the events that match ``event``, ``field`` and ``value``, and
    forgets the watcher once it forwarded the first match: the run stops waiting there, so
    it needs neither the other events nor an ``unwatch``. Without ``event`` (a request sent
    before runs named what they wait for), every event is forwarded until ``unwatch``.
    """

    workflow_id: str
    step_id: str
    after_seq: int = 0
    event: Literal["resolved", "updated", "created"] | None = None
    field: str | None = None
    value: Any = None

    def wants(self, event: IncidentEvent) -> bool:
        """Whether ``event`` is one this watcher waits for (every event without ``event``)."""
        if self.event is None:
            return True
        if event.kind != self.event or (self.field is not None and event.field != self.field):
            return False
        return self.value is None or values_equal(event.payload.get("new_value"), self.value)


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


CREATION_WINDOW = timedelta(days=1)
"""An incident first seen later than this after its creation is a baseline, not news."""
HISTORY_LIMIT = 2_000
"""History length past which the incident workflow continues as new."""


class Decision(BaseModel):
    """Why one definition did or did not start for one event.

    ``workflow_id`` is the child run's workflow id; for an ``inline`` run (inside the
    incident's workflow) the run's id, which the incident workflow's ``run_state`` query
    takes, and ``run`` its final result once it has ended.
    """

    definition: str
    version: int | None = None
    outcome: Literal["started", "skipped", "already-started", "failed"]
    reason: str
    workflow_id: str | None = None
    inline: bool = False
    run: RunResult | None = None


class ExplainEntry(BaseModel):
    """One event and every definition considered for it.

    ``caused_by`` names the run (and step) whose write caused the event, when it was one
    of rensei's own changes.
    """

    seq: int
    kind: str
    field: str | None = None
    trigger_type: str
    at: str
    caused_by: str | None = None
    decisions: list[Decision] = Field(default_factory=list)


class OwnWriteRecord(BaseModel):
    """A write a run reported, until its echoes are recognised or it is forgotten."""

    report: OwnWrite
    at: str


class IncidentState(BaseModel):
    """Everything carried across continue-as-new."""

    snapshot: IncidentSnapshot | None = None
    next_seq: int = 1
    seen_entries: list[str] = Field(default_factory=list)
    seen_webhooks: list[str] = Field(default_factory=list)
    explain: list[ExplainEntry] = Field(default_factory=list)
    recent: list[IncidentEvent] = Field(default_factory=list)
    watchers: list[WatchRequest] = Field(default_factory=list)
    last_fetch_at: str | None = None
    last_problem: str | None = None
    failed_fetches: int = 0
    own_writes: list[OwnWriteRecord] = Field(default_factory=list)
    starts: dict[str, list[str]] = Field(
        default_factory=dict, description="per definition, when it started runs (last hour)"
    )
    breaker_noted: list[str] = Field(
        default_factory=list, description="definitions whose breaker trip is on the timeline"
    )
    entries_after: str | None = Field(
        default=None,
        description="the last snapshot was taken without updates and timeline items (a "
        "new incident, or nobody read them): the next read of them takes those from before "
        "this time as already seen",
    )


class IncidentWorkflowInput(BaseModel):
    """Start input; ``announce_creation`` is False for incidents older than the connection."""

    workspace: str
    incident_id: str
    announce_creation: bool = True
    connected_at: str | None = None
    creation_window: float = CREATION_WINDOW.total_seconds()
    state: IncidentState | None = None
    pending: list[Hint] = Field(default_factory=list)
    history_limit: int = HISTORY_LIMIT
    incident_io_task_queue: str = DEFAULT_INCIDENT_IO_TASK_QUEUE
    """Where its incident.io activities run (``RENSEI_INCIDENT_IO_TASK_QUEUE``)."""


class ExplainReport(BaseModel):
    """``rensei explain``: the incident as last seen and, per event, what was started."""

    workspace: str
    incident_id: str
    reference: str | None = None
    title: str | None = None
    status: str | None = None
    severity: str | None = None
    last_fetch_at: str | None = None
    last_problem: str | None = None
    events: list[ExplainEntry]
    watchers: list[WatchRequest]
