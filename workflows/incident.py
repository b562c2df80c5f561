"""One workflow per incident: hints in, lifecycle events out, definitions started as children.

Every webhook and every sync poll is only a hint. The workflow fetches the latest incident,
diffs it against its last snapshot, and for each event starts every enabled definition
whose trigger matches (and whose filter holds) as a child run with a deterministic id, so
one event can never start one definition twice. It remembers why each definition did or
did not start (``explain``), forwards events to runs that wait on this incident, and keeps
its history bounded by continuing as new with its state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from contracts.errors import REQUEST_ERRORS
    from contracts.events import IncidentEvent, IncidentSnapshot
    from contracts.ids import INCIDENT_IO_TASK_QUEUE
    from contracts.incident import (
        CandidatesInput,
        DefinitionCandidate,
        Hint,
        SnapshotInput,
        SnapshotResult,
        WatchRequest,
    )
    from contracts.triggers import parse_time
    from interpreter import expressions as ex
    from interpreter.errors import EvaluationError
    from interpreter.plan import Plan
    from workflows import search
    from workflows.events import diff, trim_seen

from workflows import calls, metrics
from workflows.interpreter import InterpreterWorkflow, InterpretInput, search_attribute_pairs

TERMINAL_CATEGORIES = frozenset({"closed", "declined", "merged", "canceled"})
MAX_EXPLAIN = 100
MAX_RECENT = 50
MAX_WEBHOOK_IDS = 300
IDLE_AFTER_CLOSE = timedelta(days=30)
CREATION_WINDOW = timedelta(days=1)
HISTORY_LIMIT = 2_000
MAX_FETCH_ATTEMPTS = 5
"""Failed fetches in a row (unreadable: deleted, private) before the retries stop."""


class Decision(BaseModel):
    """Why one definition did or did not start for one event."""

    definition: str
    version: int | None = None
    outcome: Literal["started", "skipped", "already-started", "failed"]
    reason: str
    workflow_id: str | None = None


class ExplainEntry(BaseModel):
    """One event and every definition considered for it."""

    seq: int
    kind: str
    field: str | None = None
    trigger_type: str
    at: str
    decisions: list[Decision] = Field(default_factory=list)


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


@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow:
    """Turns hints about one incident into lifecycle events and definition runs."""

    def __init__(self) -> None:
        self._input: IncidentWorkflowInput | None = None
        self._state = IncidentState()
        self._pending: list[Hint] = []
        self._watch_requests: list[WatchRequest] = []

    @workflow.signal
    def hint(self, hint: Hint) -> None:
        """A webhook delivery or a sync poll saw this incident change."""
        self._pending.append(hint)

    @workflow.signal
    def watch(self, request: WatchRequest) -> None:
        """A run waits on this incident (``incident_io.incident.wait_for``)."""
        self._watch_requests.append(request)

    @workflow.signal
    def unwatch(self, request: WatchRequest) -> None:
        """A run no longer waits."""
        self._state.watchers = [
            w
            for w in self._state.watchers
            if (w.workflow_id, w.step_id) != (request.workflow_id, request.step_id)
        ]

    @workflow.query
    def explain(self) -> ExplainReport:
        assert self._input is not None
        fields = self._state.snapshot.fields if self._state.snapshot else {}
        return ExplainReport(
            workspace=self._input.workspace,
            incident_id=self._input.incident_id,
            reference=fields.get("reference"),
            title=fields.get("title"),
            status=fields.get("status"),
            severity=fields.get("severity"),
            last_fetch_at=self._state.last_fetch_at,
            last_problem=self._state.last_problem,
            events=list(self._state.explain),
            watchers=list(self._state.watchers),
        )

    @workflow.run
    async def run(self, params: IncidentWorkflowInput) -> ExplainReport:
        self._input = params
        if params.state is not None:
            self._state = params.state
        self._pending = list(params.pending) + self._pending
        while True:
            idle = await self._wait_for_work()
            if idle:
                return self.explain()
            await self._serve_watchers()
            if self._pending:
                await self._process(self._take_pending())
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    IncidentWorkflowInput(
                        workspace=params.workspace,
                        incident_id=params.incident_id,
                        announce_creation=params.announce_creation,
                        connected_at=params.connected_at,
                        creation_window=params.creation_window,
                        state=self._state,
                        pending=self._take_pending(),
                        history_limit=params.history_limit,
                    )
                )

    async def _wait_for_work(self) -> bool:
        """Waits for a hint or a watcher; True when the incident is over and nobody waits."""
        has_work = lambda: bool(self._pending or self._watch_requests)  # noqa: E731
        if not self._is_over() or self._state.watchers:
            await workflow.wait_condition(has_work)
            return False
        try:
            await workflow.wait_condition(has_work, timeout=IDLE_AFTER_CLOSE)
        except TimeoutError:
            return True
        return False

    def _is_over(self) -> bool:
        snapshot = self._state.snapshot
        return (
            snapshot is not None and snapshot.fields.get("status_category") in TERMINAL_CATEGORIES
        )

    def _should_continue_as_new(self) -> bool:
        assert self._input is not None
        info = workflow.info()
        limit = self._input.history_limit
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    def _take_pending(self) -> list[Hint]:
        taken, self._pending = self._pending, []
        return taken

    async def _process(self, hints: list[Hint]) -> None:
        seen = self._state.seen_webhooks
        fresh = [h for h in hints if h.webhook_id is None or h.webhook_id not in seen]
        for hint in fresh:
            if hint.webhook_id is not None:
                seen.append(hint.webhook_id)
        self._state.seen_webhooks = seen[-MAX_WEBHOOK_IDS:]
        metrics.webhooks_deduplicated(
            sum(1 for h in hints if h.webhook_id) - sum(1 for h in fresh if h.webhook_id)
        )
        if not fresh:
            return  # only redeliveries: nothing new to look at
        assert self._input is not None
        result = await self._fetch()
        if result is None:
            if self._give_up_fetching():
                return
            # Nothing is lost: the snapshot is unchanged, so the next fetch sees every change.
            self._pending.append(Hint(source="manual"))
            await workflow.sleep(timedelta(minutes=1))
            return
        seen_entries = set(self._state.seen_entries)
        events = diff(
            self._state.snapshot,
            result,
            next_seq=self._state.next_seq,
            seen_entries=seen_entries,
            announce_creation=self._announce(result),
        )
        self._state.snapshot = result
        self._state.seen_entries = sorted(trim_seen(seen_entries, [e.id for e in result.entries]))
        self._state.next_seq += len(events)
        self._upsert_search_attributes(result)
        for event in events:
            await self._fire(event)

    def _announce(self, snapshot: IncidentSnapshot) -> bool:
        """Whether the first snapshot is news (``created``) or only a baseline.

        A baseline: the incident predates the workspace's connection, or it is first seen
        long after its creation (a workflow that ended after 30 idle days and is woken by a
        late change must not announce an old incident as new).
        """
        assert self._input is not None
        created = parse_time(snapshot.fields.get("created_at"))
        if not self._input.announce_creation or created is None:
            return self._input.announce_creation
        connected = parse_time(self._input.connected_at)
        if connected is not None and created < connected:
            return False
        return workflow.now() - created <= timedelta(seconds=self._input.creation_window)

    def _give_up_fetching(self) -> bool:
        """After ``MAX_FETCH_ATTEMPTS`` failed fetches in a row, stop retrying on our own
        and say why; the next hint (a webhook, a change the sync sees) tries once more."""
        self._state.failed_fetches += 1
        if self._state.failed_fetches < MAX_FETCH_ATTEMPTS:
            return False
        self._state.last_problem = (
            f"stopped fetching this incident after {self._state.failed_fetches} failed "
            f"attempts: {self._state.last_problem}; the next webhook or change tries again"
        )
        workflow.logger.warning(self._state.last_problem)
        return True

    async def _fetch(self) -> IncidentSnapshot | None:
        assert self._input is not None
        try:
            result: SnapshotResult = await workflow.execute_activity(
                "incident_io.sync.snapshot",
                SnapshotInput(workspace=self._input.workspace, incident_id=self._input.incident_id),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(minutes=2),
                    non_retryable_error_types=list(REQUEST_ERRORS),
                ),
                result_type=SnapshotResult,
                task_queue=INCIDENT_IO_TASK_QUEUE,
                summary="fetch incident",
            )
        except ActivityError as exc:
            self._state.last_problem = f"fetching the incident failed: {calls.failure_cause(exc)}"
            workflow.logger.warning(self._state.last_problem)
            return None
        self._state.last_fetch_at = workflow.now().isoformat()
        if result.snapshot is None:
            self._state.last_problem = result.missing
            return None
        self._state.last_problem = None
        self._state.failed_fetches = 0
        return result.snapshot

    async def _fire(self, event: IncidentEvent) -> None:
        self._state.recent = ([*self._state.recent, event])[-MAX_RECENT:]
        await self._forward(event, self._state.watchers)
        entry = ExplainEntry(
            seq=event.seq,
            kind=event.kind,
            field=event.field,
            trigger_type=event.trigger_type,
            at=workflow.now().isoformat(),
        )
        self._state.explain = ([*self._state.explain, entry])[-MAX_EXPLAIN:]
        candidates = await self._candidates(event, entry)
        for candidate in candidates:
            entry.decisions.append(await self._consider(event, candidate))

    async def _candidates(
        self, event: IncidentEvent, entry: ExplainEntry
    ) -> list[DefinitionCandidate]:
        assert self._input is not None
        try:
            candidates: list[DefinitionCandidate] = await workflow.execute_activity(
                "definitions.candidates",
                CandidatesInput(workspace=self._input.workspace, trigger_type=event.trigger_type),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(seconds=30), maximum_attempts=10
                ),
                result_type=list[DefinitionCandidate],
                summary="find definitions",
            )
            return candidates
        except ActivityError as exc:
            entry.decisions.append(
                Decision(
                    definition="*",
                    outcome="failed",
                    reason=f"definitions unavailable: {calls.failure_cause(exc)}",
                )
            )
            return []

    async def _consider(self, event: IncidentEvent, candidate: DefinitionCandidate) -> Decision:
        name, version = candidate.name, candidate.version
        if candidate.problem is not None:
            return Decision(
                definition=name,
                version=version,
                outcome="skipped",
                reason=f"it is invalid: {candidate.problem}",
            )
        if candidate.trigger_type != event.trigger_type:
            return Decision(
                definition=name,
                version=version,
                outcome="skipped",
                reason=f"its trigger is {candidate.trigger_type}, "
                f"the event is {event.trigger_type}",
            )
        if not candidate.enabled:
            return Decision(
                definition=name, version=version, outcome="skipped", reason="it is disabled"
            )
        if candidate.plan is None:
            return Decision(
                definition=name,
                version=version,
                outcome="skipped",
                reason=f"it is invalid: {candidate.problem or 'no compiled plan'}",
            )
        trigger = {"incident_io": event.payload}
        plan = candidate.plan
        if plan.filter is not None:
            try:
                held = ex.evaluate(
                    ex.parse_expression(plan.filter.source),
                    ex.Context(trigger=trigger, steps={}, workflow={"name": plan.name}),
                    plan.filter.source,
                )
            except EvaluationError as exc:
                return Decision(
                    definition=name,
                    version=version,
                    outcome="skipped",
                    reason=f"its filter failed at {plan.filter.location}: {exc}",
                )
            if held is not True:
                return Decision(
                    definition=name,
                    version=version,
                    outcome="skipped",
                    reason=f"its filter {{{{{plan.filter.source}}}}} "
                    f"is {ex.to_text(held) or 'null'}",
                )
        return await self._start(event, plan, trigger)

    async def _start(self, event: IncidentEvent, plan: Plan, trigger: dict[str, Any]) -> Decision:
        assert self._input is not None
        info = workflow.info()
        child_id = f"{info.workflow_id}-{event.key}-{plan.name}"
        params = InterpretInput(
            plan=plan,
            trigger=trigger,
            workspace=self._input.workspace,
            incident_id=self._input.incident_id,
            incident_workflow_id=info.workflow_id,
            event_seq=event.seq,
        )
        try:
            child = await workflow.start_child_workflow(
                InterpreterWorkflow.run,
                params,
                id=child_id,
                task_queue=info.task_queue,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(search_attribute_pairs(params)),
                static_summary=f"{plan.name} v{plan.version} for event {event.seq} ({event.kind})",
            )
            child.add_done_callback(_outcome_is_the_childs_own)
        except WorkflowAlreadyStartedError:
            return Decision(
                definition=plan.name,
                version=plan.version,
                outcome="already-started",
                reason="this event already started it",
                workflow_id=child_id,
            )
        return Decision(
            definition=plan.name,
            version=plan.version,
            outcome="started",
            reason="trigger matched" + (" and its filter held" if plan.filter else ""),
            workflow_id=child_id,
        )

    async def _serve_watchers(self) -> None:
        requests, self._watch_requests = self._watch_requests, []
        for request in requests:
            key = (request.workflow_id, request.step_id)
            self._state.watchers = [
                w for w in self._state.watchers if (w.workflow_id, w.step_id) != key
            ]
            self._state.watchers.append(request)
            missed = [e for e in self._state.recent if e.seq > request.after_seq]
            for event in missed:
                await self._forward(event, [request])

    async def _forward(self, event: IncidentEvent, watchers: list[WatchRequest]) -> None:
        for watcher in list(watchers):
            handle = workflow.get_external_workflow_handle(watcher.workflow_id)
            try:
                await handle.signal("incident_event", event)
            except Exception as exc:  # the run has ended: stop forwarding to it
                workflow.logger.info("dropping watcher %s: %s", watcher.workflow_id, exc)
                self.unwatch(watcher)

    def _upsert_search_attributes(self, snapshot: IncidentSnapshot) -> None:
        assert self._input is not None
        updates = [
            search.INCIDENT_ID.value_set(self._input.incident_id),
            search.WORKSPACE.value_set(self._input.workspace),
        ]
        reference = snapshot.fields.get("reference")
        if isinstance(reference, str) and reference:
            updates.append(search.INCIDENT_REFERENCE.value_set(reference))
        severity = snapshot.fields.get("severity")
        updates.append(
            search.INCIDENT_SEVERITY.value_set(severity)
            if isinstance(severity, str)
            else search.INCIDENT_SEVERITY.value_unset()
        )
        current = workflow.info().typed_search_attributes
        if any(current.get(u.key) != u.value for u in updates):
            workflow.upsert_search_attributes(updates)


def _outcome_is_the_childs_own(future: Any) -> None:
    """A run's failure is its own (visible in the UI and in ``rensei run``), not the incident's."""
    if not future.cancelled():
        future.exception()
