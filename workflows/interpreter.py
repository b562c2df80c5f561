"""The plan interpreter: runs one compiled definition for one trigger event, durably.

Conditions and cases are evaluated here, in workflow code, so a run's history holds one
activity per executed action step and nothing else. The plan is pinned in the input. The
walk itself is ``runner.PlanRun``, shared with the runs the incident's workflow runs inline;
this workflow is the home of a run that waits (approvals, agents, incident events).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts.events import IncidentEvent
    from contracts.ids import INTERPRETER_WORKFLOW
    from contracts.incident import OwnWrite
    from contracts.messages import AgentUpdate, DecideInput, DecideResult, PendingApproval
    from contracts.runs import STEP_FAILED, InterpretInput, RunResult
    from contracts.search import search_attribute_pairs

from workflows import approval_step
from workflows.runner import PlanRun, RunIdentity, StepFailedError

OWN_WRITES_PATCH = "report-own-writes"


@workflow.defn(name=INTERPRETER_WORKFLOW)
class InterpreterWorkflow:
    """Runs a Plan as its own workflow: the ``StepHost`` of its steps."""

    def __init__(self) -> None:
        self._run: PlanRun | None = None
        self._input: InterpretInput | None = None
        self._events: list[IncidentEvent] = []
        self._approval_book = approval_step.ApprovalBook()
        self._agent_pushes: dict[str, AgentUpdate] = {}

    @property
    def approval_book(self) -> approval_step.ApprovalBook:
        return self._approval_book

    @property
    def agent_pushes(self) -> dict[str, AgentUpdate]:
        return self._agent_pushes

    @property
    def events(self) -> list[IncidentEvent]:
        return self._events

    @property
    def event_seq(self) -> int:
        assert self._input is not None
        return self._input.event_seq

    @workflow.signal
    def incident_event(self, event: IncidentEvent) -> None:
        """An event of the incident this run waits on (sent by its IncidentWorkflow)."""
        self._events.append(event)

    @workflow.query
    def state(self) -> RunResult:
        """Every step's status and output so far."""
        if self._run is None:
            return RunResult(status="running", steps=[])
        return self._run.state()

    @workflow.query
    def approvals(self) -> list[PendingApproval]:
        """Every approval step reached so far: waiting, decided or timed out."""
        return list(self._approval_book.items.values())

    @workflow.update
    def decide(self, params: DecideInput) -> DecideResult:
        """Approves or rejects a waiting approval step (deduplicated by update id)."""
        return self._approval_book.decide(params, workflow.now())

    @decide.validator
    def _check_decision(self, params: DecideInput) -> None:
        self._approval_book.check(params, workflow.now())

    @workflow.signal
    def agent_update(self, update: AgentUpdate) -> None:
        """An A2A push: the agent task of ``update.step_id`` changed state; poll it now."""
        self._agent_pushes[update.step_id] = update

    @workflow.run
    async def run(self, params: InterpretInput) -> RunResult:
        self._input = params
        info = workflow.info()
        identity = RunIdentity(
            workflow_id=info.workflow_id, run_id=info.run_id, started_at=info.start_time
        )
        self._run = run = PlanRun(params, self, identity)
        if params.set_search_attributes:
            self._upsert_search_attributes(params)
        try:
            return await run.execute()
        except StepFailedError as exc:
            # The step report rides in the failure, so callers need no query to show it.
            raise ApplicationError(
                str(exc),
                run.state().model_dump(mode="json"),
                type=STEP_FAILED,
                non_retryable=True,
            ) from None

    @property
    def incident_io_task_queue(self) -> str:
        """The queue of the incident.io calls the run makes beside its plan's steps."""
        assert self._input is not None
        return self._input.incident_io_task_queue

    def reports_own_writes_to(self, incident: str) -> bool:
        """Whether a write to ``incident`` (id or reference) is reported to its workflow."""
        params = self._input
        assert params is not None
        if not params.incident_workflow_id or not params.incident_id:
            return False
        reference = params.trigger.get("incident_io", {}).get("reference")
        if incident.strip() not in {params.incident_id, reference}:
            return False
        return workflow.patched(OWN_WRITES_PATCH)

    async def tell_incident(self, report: OwnWrite) -> None:
        """Reports a write to the incident's workflow, so its echo is known as rensei's own."""
        assert self._input is not None and self._input.incident_workflow_id is not None
        handle = workflow.get_external_workflow_handle(self._input.incident_workflow_id)
        try:
            await handle.signal("own_write", report)
        except FailureError as exc:
            # The incident's workflow has ended: it starts nothing more, so no echo can loop.
            workflow.logger.info("incident workflow not told of %s: %s", report.step_id, exc)

    def _upsert_search_attributes(self, params: InterpretInput) -> None:
        present = workflow.info().typed_search_attributes
        missing = [
            p.key.value_set(p.value)
            for p in search_attribute_pairs(params)
            if present.get(p.key) is None
        ]
        if missing:
            workflow.upsert_search_attributes(missing)
