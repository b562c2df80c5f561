"""One workflow per incident: hints in, lifecycle events out, definitions started as children.

Every webhook and every sync poll is only a hint. The workflow fetches the latest incident
(or, for a new incident, takes the whole incident a public webhook carried, without a call),
diffs it against its last snapshot, and for each event starts every enabled definition
whose trigger matches (and whose filter holds) as a child run with a deterministic id, so
one event can never start one definition twice. It remembers why each definition did or
did not start (``explain``), forwards events to runs that wait on this incident, and keeps
its history bounded by continuing as new with its state.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from contracts import search
    from contracts.errors import REQUEST_ERRORS
    from contracts.events import IncidentEvent, IncidentSnapshot
    from contracts.ids import INCIDENT_WORKFLOW
    from contracts.incident import (
        CandidatesInput,
        Decision,
        DefinitionCandidate,
        ExplainEntry,
        ExplainReport,
        Hint,
        IncidentState,
        IncidentWorkflowInput,
        LookupInput,
        LookupResult,
        OwnWrite,
        OwnWriteRecord,
        SnapshotInput,
        SnapshotResult,
        WatchRequest,
    )
    from contracts.runs import InterpretInput, RunResult
    from contracts.search import search_attribute_pairs
    from contracts.triggers import CREATED, RESOLVED, UPDATED, parse_time
    from interpreter import expressions as ex
    from interpreter.errors import EvaluationError
    from interpreter.plan import NodeCall, NodeContext, Plan
    from workflows.events import diff, trim_seen

from workflows import calls, metrics
from workflows.inline import InlineRuns
from workflows.interpreter import InterpreterWorkflow
from workflows.runner import runs_inline

TERMINAL_CATEGORIES = frozenset({"closed", "declined", "merged", "canceled"})
MAX_EXPLAIN = 100
MAX_RECENT = 50
MAX_WEBHOOK_IDS = 300
IDLE_AFTER_CLOSE = timedelta(days=30)
MAX_FETCH_ATTEMPTS = 5
"""Failed fetches in a row (unreadable: deleted, private) before the retries stop."""
OWN_WRITE_GRACE = timedelta(seconds=60)
"""How long fetched events wait for a run's write in flight to report what it wrote."""
OWN_WRITE_MEMORY = timedelta(hours=1)
MAX_OWN_WRITES = 100
UPDATE_WINDOW = timedelta(minutes=5)
CLOCK_SKEW = timedelta(minutes=1)
BREAKER_WINDOW = timedelta(hours=1)
BREAKER = "loop-breaker"
WEBHOOK_SNAPSHOT = "webhook-snapshot"
"""Patch: the incident a webhook carried is used as the snapshot's fields."""
BATCH_LOOKUP = "batch-lookup"
"""Patch: definitions looked up once per batch of hints, before the fetch, which reads the
incident's updates and timeline items only when a definition or a waiting run reads them."""
INLINE_RUNS = "inline-runs"
"""Patch: a plan with no waiting step runs inside this workflow instead of as a child."""
SYNC_SEEN = "sync-seen"
"""Patch: a sync poll's hint for a version the snapshot already has fetches nothing."""
WATCH_BATCH = "watch-batch"
"""Patch: a batch's events are forwarded to the watchers in the workflow task that found
them, before anything else is done for them, rather than one event at a time."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@workflow.defn(name=INCIDENT_WORKFLOW)
class IncidentWorkflow:
    """Turns hints about one incident into lifecycle events and definition runs."""

    def __init__(self) -> None:
        self._input: IncidentWorkflowInput | None = None
        self._state = IncidentState()
        self._pending: list[Hint] = []
        self._watch_requests: list[WatchRequest] = []
        self._inline = InlineRuns(self.own_write)
        self._deliveries: set[asyncio.Task[None]] = set()

    @workflow.signal
    def hint(self, hint: Hint) -> None:
        """A webhook delivery or a sync poll saw this incident change."""
        self._pending.append(hint)

    @workflow.signal
    def watch(self, request: WatchRequest) -> None:
        """A run waits on this incident (``incident_io.incident.wait_for``)."""
        self._watch_requests.append(request)

    @workflow.signal
    def own_write(self, report: OwnWrite) -> None:
        """A run is about to write to this incident (``intent``), or did (``done``)."""
        records = self._state.own_writes
        for record in records:
            if (record.report.workflow_id, record.report.step_id) == (
                report.workflow_id,
                report.step_id,
            ):
                record.report = report
                return
        at = workflow.now().isoformat()
        self._state.own_writes = [*records, OwnWriteRecord(report=report, at=at)][-MAX_OWN_WRITES:]

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
            events=[self._with_live_runs(entry) for entry in self._state.explain],
            watchers=list(self._state.watchers),
        )

    @workflow.query
    def run_state(self, run_id: str) -> RunResult | None:
        """An inline run's steps: so far while it runs, final once it has ended; None if
        this workflow has no such run (it is a child run, or its event was forgotten)."""
        live = self._inline.state(run_id)
        if live is not None:
            return live
        for entry in self._state.explain:
            for decision in entry.decisions:
                if decision.inline and decision.workflow_id == run_id:
                    return decision.run
        return None

    def _with_live_runs(self, entry: ExplainEntry) -> ExplainEntry:
        """``entry`` with the steps so far of its inline runs that are still running."""
        if not any(d.inline and d.run is None for d in entry.decisions):
            return entry
        decisions = [
            d.model_copy(update={"run": self._inline.state(d.workflow_id or "")})
            if d.inline and d.run is None
            else d
            for d in entry.decisions
        ]
        return entry.model_copy(update={"decisions": decisions})

    @workflow.run
    async def run(self, params: IncidentWorkflowInput) -> ExplainReport:
        self._input = params
        if params.state is not None:
            self._state = params.state
        self._pending = list(params.pending) + self._pending
        while True:
            idle = await self._wait_for_work()
            if idle:
                await self._inline.settle()
                return self.explain()
            await self._serve_watchers()
            if self._pending:
                await self._process(self._take_pending())
            if self._should_continue_as_new():
                await self._inline.settle()
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() and not self._deliveries
                )
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
                        incident_io_task_queue=params.incident_io_task_queue,
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
        if self._seen_already(fresh) and workflow.patched(SYNC_SEEN):
            return  # a poll saw the version a webhook brought: a fetch would find nothing
        if workflow.patched(BATCH_LOOKUP):
            await self._process_batch(fresh)
            return
        assert self._input is not None
        carried = self._carried(fresh)
        if carried is not None and workflow.patched(WEBHOOK_SNAPSHOT):
            first = self._state.snapshot is None
            result = await (self._normalize(carried) if first else self._fetch(carried))
            if result is None and first:
                result = await self._fetch(carried)
            elif first:
                # No updates or timeline items were read: those that exist by now are the
                # baseline a fetch would have taken, so the next fetch does not announce them.
                self._state.entries_after = workflow.now().isoformat()
                self._state.last_problem = None
                self._state.failed_fetches = 0
        else:
            result = await self._fetch()
        await self._apply(result)

    async def _process_batch(self, hints: list[Hint]) -> None:
        """One batch of fresh hints: definitions looked up once (a local activity), then the
        incident read with as few incident.io calls as the definitions and waiting runs need.

        A new incident's updates and timeline items are never read (they would only be the
        baseline); a known incident's only when an enabled definition is on ``updated`` or a
        run waits on this incident; else the incident a webhook carried is the whole read
        (no call), or the incident alone is fetched (1 call).
        """
        first = self._state.snapshot is None
        looked = await self._lookup([CREATED, RESOLVED] if first else [UPDATED, RESOLVED])
        entries = not first and (
            isinstance(looked, str) or looked.listens_to(UPDATED) or bool(self._state.watchers)
        )
        carried = self._carried(hints)
        result = None
        if carried is not None and not entries:
            result = await self._normalize(carried)
            if result is not None:
                self._state.last_problem = None
                self._state.failed_fetches = 0
        if result is None:
            result = await self._fetch(carried, entries=entries)
        if result is not None and not entries:
            # What exists by now was read by nobody: the next read of them takes it as seen.
            self._state.entries_after = workflow.now().isoformat()
        await self._apply(result, looked)

    async def _apply(
        self, result: IncidentSnapshot | None, looked: LookupResult | str | None = None
    ) -> None:
        """Diffs the new snapshot into events and fires each; ``looked``: the batch's
        definitions (None: each event looks them up itself, as runs recorded before did)."""
        if result is None:
            if self._give_up_fetching():
                return
            # Nothing is lost: the snapshot is unchanged, so the next fetch sees every change.
            self._pending.append(Hint(source="manual"))
            await workflow.sleep(timedelta(minutes=1))
            return
        seen_entries = set(self._state.seen_entries)
        if self._state.entries_after is not None and result.entries:
            seen_entries |= _baseline(result, self._state.entries_after)
            self._state.entries_after = None
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
        forwarded = self._forward_batch(events)
        if events and self._writes_in_flight():
            # A run's write may have caused these events; let it say what it wrote first.
            with contextlib.suppress(TimeoutError):  # a silent run holds nothing for long
                await workflow.wait_condition(
                    lambda: not self._writes_in_flight(), timeout=OWN_WRITE_GRACE
                )
        causes = self._attribute(events)
        for event in events:
            await self._fire(event, causes.get(event.seq), looked, forwarded=forwarded)

    def _seen_already(self, hints: list[Hint]) -> bool:
        """Whether every hint is a sync poll's for a version no newer than the snapshot."""
        have = (
            parse_time(self._state.snapshot.fields.get("updated_at"))
            if self._state.snapshot
            else None
        )
        if have is None:
            return False
        for hint in hints:
            seen = parse_time(hint.updated_at) if hint.source == "sync" else None
            if seen is None or seen > have:
                return False
        return True

    def _writes_in_flight(self) -> bool:
        horizon = (workflow.now() - OWN_WRITE_GRACE).isoformat()
        return any(r.report.phase == "intent" and r.at > horizon for r in self._state.own_writes)

    def _attribute(self, events: list[IncidentEvent]) -> dict[int, str]:
        """Which events rensei's own writes caused: ``{seq: "run X (step s)"}``.

        Timeline items and updates are matched by the id the write returned; a field
        change by the value the write set; an incident update whose id the API did not
        return by a write that may have posted one; ``resolved`` follows its status change.
        """
        horizon = (workflow.now() - OWN_WRITE_MEMORY).isoformat()
        records = [r for r in self._state.own_writes if r.at > horizon]
        self._state.own_writes = records
        causes: dict[int, str] = {}
        for event in events:
            if event.kind == "resolved":
                found = next(
                    (causes[e.seq] for e in events if e.field == "status" and e.seq in causes),
                    None,
                )
            else:
                found = _claimant(event, records)
            if found is not None:
                causes[event.seq] = found
        return causes

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

    def _carried(self, hints: list[Hint]) -> dict[str, Any] | None:
        """The newest incident the hints carried, when every hint carried one and it is not
        older than the snapshot (a delivery that arrives late never moves it back)."""
        carried = [h.incident for h in hints if h.incident is not None]
        if not carried or len(carried) < len(hints):
            return None
        newest = max(carried, key=lambda i: parse_time(i.get("updated_at")) or _EPOCH)
        at = parse_time(newest.get("updated_at"))
        if at is None:
            return None
        if self._state.snapshot is None:
            return newest
        current = parse_time(self._state.snapshot.fields.get("updated_at"))
        return newest if current is not None and at >= current else None

    async def _normalize(self, incident: dict[str, Any]) -> IncidentSnapshot | None:
        """The first snapshot from the incident a webhook carried: no incident.io call but
        the worker's cached severity list. None (then it is fetched) when that fails."""
        assert self._input is not None
        try:
            result: SnapshotResult = await workflow.execute_local_activity(
                "incident_io.sync.normalize",
                SnapshotInput(
                    workspace=self._input.workspace,
                    incident_id=self._input.incident_id,
                    incident=incident,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_attempts=3, non_retryable_error_types=list(REQUEST_ERRORS)
                ),
                result_type=SnapshotResult,
                summary="incident from the webhook",
            )
        except ActivityError as exc:
            workflow.logger.warning(
                "reading the webhook's incident failed, fetching it: %s", calls.failure_cause(exc)
            )
            return None
        return result.snapshot

    async def _fetch(
        self, carried: dict[str, Any] | None = None, *, entries: bool = True
    ) -> IncidentSnapshot | None:
        """The incident with (``entries``) its updates and timeline items; ``carried``, the
        incident a webhook carried, is used instead of fetching the incident itself."""
        assert self._input is not None
        try:
            result: SnapshotResult = await workflow.execute_activity(
                "incident_io.sync.snapshot",
                SnapshotInput(
                    workspace=self._input.workspace,
                    incident_id=self._input.incident_id,
                    incident=carried,
                    entries=entries,
                ),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(minutes=2),
                    non_retryable_error_types=list(REQUEST_ERRORS),
                ),
                result_type=SnapshotResult,
                task_queue=self._input.incident_io_task_queue,
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

    async def _fire(
        self,
        event: IncidentEvent,
        caused_by: str | None = None,
        looked: LookupResult | str | None = None,
        *,
        forwarded: bool = False,
    ) -> None:
        self._state.recent = ([*self._state.recent, event])[-MAX_RECENT:]
        if not forwarded:
            await self._forward(event, self._state.watchers)
        entry = ExplainEntry(
            seq=event.seq,
            kind=event.kind,
            field=event.field,
            trigger_type=event.trigger_type,
            at=workflow.now().isoformat(),
            caused_by=caused_by,
        )
        self._state.explain = ([*self._state.explain, entry])[-MAX_EXPLAIN:]
        if looked is None:
            candidates = await self._candidates(event, entry)
        elif isinstance(looked, str):
            entry.decisions.append(
                Decision(
                    definition="*", outcome="failed", reason=f"definitions unavailable: {looked}"
                )
            )
            candidates = []
        else:
            candidates = looked.candidates
        for candidate in candidates:
            entry.decisions.append(await self._consider(event, candidate, caused_by))

    async def _lookup(self, trigger_types: list[str]) -> LookupResult | str:
        """The batch's definitions from the worker's cache (a local activity), or the problem."""
        assert self._input is not None
        try:
            result: LookupResult = await workflow.execute_local_activity(
                "definitions.lookup",
                LookupInput(workspace=self._input.workspace, trigger_types=trigger_types),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(seconds=30), maximum_attempts=10
                ),
                result_type=LookupResult,
                summary="find definitions",
            )
        except ActivityError as exc:
            return calls.failure_cause(exc)
        return result

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

    async def _consider(
        self, event: IncidentEvent, candidate: DefinitionCandidate, caused_by: str | None
    ) -> Decision:
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
        if caused_by is not None and not plan.include_own_changes:
            return Decision(
                definition=name,
                version=version,
                outcome="skipped",
                reason=f"the event is rensei's own change, caused by {caused_by} "
                "(set trigger.includeOwnChanges: true to run on it)",
            )
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
        tripped = await self._breaker(plan)
        if tripped is not None:
            return tripped
        decision = await self._start(event, plan, trigger)
        if decision.outcome == "started":
            self._state.starts.setdefault(plan.name, []).append(workflow.now().isoformat())
        return decision

    async def _breaker(self, plan: Plan) -> Decision | None:
        """The loop breaker: a refusal once ``plan`` started its hourly maximum of runs."""
        horizon = (workflow.now() - BREAKER_WINDOW).isoformat()
        recent = [at for at in self._state.starts.get(plan.name, []) if at > horizon]
        self._state.starts[plan.name] = recent
        if len(recent) < plan.max_runs_per_hour:
            return None
        reason = (
            f"loop breaker: it started {len(recent)} runs for this incident in the last hour "
            f"(trigger.maxRunsPerHour: {plan.max_runs_per_hour})"
        )
        metrics.loop_breaker_tripped(plan.name)  # every start refused, not only the first
        if plan.name not in self._state.breaker_noted:
            problem = await self._note_trip(plan, reason)
            if problem is None:
                self._state.breaker_noted.append(plan.name)
            else:
                reason += f"; writing this on the incident timeline failed: {problem}"
                self._state.last_problem = reason
        return Decision(
            definition=plan.name, version=plan.version, outcome="skipped", reason=reason
        )

    async def _note_trip(self, plan: Plan, reason: str) -> str | None:
        """Writes the breaker's trip on the incident timeline once; the problem if it failed."""
        assert self._input is not None
        info = workflow.info()
        step_id = f"{BREAKER}.{plan.name}"
        call = NodeCall(
            context=NodeContext(
                workspace=self._input.workspace,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                step_id=step_id,
                definition=plan.name,
                incident_id=self._input.incident_id,
            ),
            inputs={
                "incidentId": self._input.incident_id,
                "eventType": "rensei",
                "title": f"rensei stopped starting '{plan.name}' for this incident",
                "description": f"'{plan.name}' was not started: {reason}.",
            },
        )
        self.own_write(OwnWrite(workflow_id=info.workflow_id, step_id=step_id, phase="intent"))
        try:
            written: dict[str, Any] = await workflow.execute_activity(
                "incident_io.timeline.add_event",
                call,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    maximum_attempts=5,
                    non_retryable_error_types=list(REQUEST_ERRORS),
                ),
                result_type=dict,
                task_queue=self._input.incident_io_task_queue,
                summary=f"loop breaker: {plan.name}",
            )
        except ActivityError as exc:
            self.own_write(OwnWrite(workflow_id=info.workflow_id, step_id=step_id, phase="failed"))
            return calls.failure_cause(exc)
        ids = [written["id"]] if isinstance(written.get("id"), str) else []
        self.own_write(
            OwnWrite(workflow_id=info.workflow_id, step_id=step_id, phase="done", entry_ids=ids)
        )
        return None

    async def _start(self, event: IncidentEvent, plan: Plan, trigger: dict[str, Any]) -> Decision:
        assert self._input is not None
        info = workflow.info()
        child_id = f"{info.workflow_id}-{event.key}-{plan.name}"
        inline = runs_inline(plan) and workflow.patched(INLINE_RUNS)
        params = InterpretInput(
            plan=plan,
            trigger=trigger,
            workspace=self._input.workspace,
            incident_id=self._input.incident_id,
            incident_workflow_id=info.workflow_id,
            event_seq=event.seq,
            set_search_attributes=not inline,
            incident_io_task_queue=self._input.incident_io_task_queue,
        )
        if inline:
            return self._start_inline(params, child_id)
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

    def _start_inline(self, params: InterpretInput, run_id: str) -> Decision:
        """Starts ``params`` inside this workflow; its result lands in the decision."""
        plan = params.plan
        decision = Decision(
            definition=plan.name,
            version=plan.version,
            outcome="started",
            reason="trigger matched" + (" and its filter held" if plan.filter else ""),
            workflow_id=run_id,
            inline=True,
        )

        def done(result: RunResult) -> None:
            decision.run = result

        self._inline.start(params, run_id=run_id, done=done)
        return decision

    async def _serve_watchers(self) -> None:
        requests, self._watch_requests = self._watch_requests, []
        for request in requests:
            key = (request.workflow_id, request.step_id)
            self._state.watchers = [
                w for w in self._state.watchers if (w.workflow_id, w.step_id) != key
            ]
            self._state.watchers.append(request)
            missed = [e for e in self._state.recent if e.seq > request.after_seq]
            if missed and workflow.patched(WATCH_BATCH):
                self._deliver(request, missed)
                continue
            for event in missed:
                await self._forward(event, [request])

    def _forward_batch(self, events: list[IncidentEvent]) -> bool:
        """Starts forwarding ``events`` to every watcher, all in this workflow task.

        False on a history recorded before the ``watch-batch`` patch: ``_fire`` then
        forwards each event and waits for its signals before it looks for definitions.
        """
        if not events or not self._state.watchers or not workflow.patched(WATCH_BATCH):
            return False
        for watcher in list(self._state.watchers):
            self._deliver(watcher, events)
        return True

    def _deliver(self, watcher: WatchRequest, events: list[IncidentEvent]) -> None:
        """Signals the events ``watcher`` wants, in order, without waiting for the signals."""
        wanted = [e for e in events if watcher.wants(e)]
        if not wanted:
            return
        if watcher.event is not None:
            wanted = wanted[:1]
            self.unwatch(watcher)  # it stops waiting at its first match
        task = asyncio.create_task(self._signal(watcher, wanted))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _signal(self, watcher: WatchRequest, events: list[IncidentEvent]) -> None:
        handle = workflow.get_external_workflow_handle(watcher.workflow_id)
        for event in events:
            try:
                await handle.signal("incident_event", event)
            except Exception as exc:  # the run has ended: stop forwarding to it
                workflow.logger.info("dropping watcher %s: %s", watcher.workflow_id, exc)
                self.unwatch(watcher)
                return

    async def _forward(self, event: IncidentEvent, watchers: list[WatchRequest]) -> None:
        """One event to ``watchers``, one signal after the other (histories before the
        ``watch-batch`` patch); a watcher that named its event is forgotten after its match."""
        for watcher in list(watchers):
            if not watcher.wants(event):
                continue
            handle = workflow.get_external_workflow_handle(watcher.workflow_id)
            try:
                await handle.signal("incident_event", event)
            except Exception as exc:  # the run has ended: stop forwarding to it
                workflow.logger.info("dropping watcher %s: %s", watcher.workflow_id, exc)
                self.unwatch(watcher)
                continue
            if watcher.event is not None:
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


def _claimant(event: IncidentEvent, records: list[OwnWriteRecord]) -> str | None:
    """The write (``run X (step 's')``) that caused ``event``, consuming what it matched."""
    value = event.payload.get("new_value")
    for record in records:
        report = record.report
        if report.phase != "done":
            continue
        if event.field == "timeline" and isinstance(value, dict):
            matched = value.get("id") in report.entry_ids
            if not matched and report.updates > 0 and _posted_by(value, record):
                report.updates -= 1
                matched = True
        else:
            matched = event.field in report.fields and report.fields[event.field] == value
            if matched:
                del report.fields[str(event.field)]
        if matched:
            if report.step_id.startswith(f"{BREAKER}."):
                return "rensei's loop breaker"
            return f"run {report.workflow_id} (step '{report.step_id}')"
    return None


def _baseline(snapshot: IncidentSnapshot, after: str) -> set[str]:
    """Ids of the entries that existed when a first snapshot was taken without them."""
    horizon = parse_time(after)
    found = set()
    for entry in snapshot.entries:
        at = parse_time(entry.at)
        if horizon is None or at is None or at <= horizon:
            found.add(entry.id)
    return found


def _posted_by(entry: dict[str, Any], record: OwnWriteRecord) -> bool:
    """Whether an incident update whose id no write returned can be ``record``'s.

    Only one created within minutes after the write's intent: a claim that matched nothing
    (the write posted no update after all) must not swallow a person's update later.
    """
    posted, intended = parse_time(entry.get("at")), parse_time(record.at)
    if entry.get("kind") != "incident_update" or posted is None or intended is None:
        return False
    return intended - CLOCK_SKEW <= posted <= intended + UPDATE_WINDOW


def _outcome_is_the_childs_own(future: Any) -> None:
    """A run's failure is its own (visible in the UI and in ``rensei run``), not the incident's."""
    if not future.cancelled():
        future.exception()
