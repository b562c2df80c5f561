"""The plan interpreter: runs one compiled definition for one trigger event, durably.

Conditions and cases are evaluated here, in workflow code, so a run's history holds one
activity per executed action step and nothing else. The plan is pinned in the input.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import SearchAttributePair
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts.events import IncidentEvent
    from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE, INTERPRETER_WORKFLOW
    from contracts.incident import OwnWrite
    from contracts.messages import AgentUpdate, DecideInput, DecideResult, PendingApproval
    from interpreter import expressions as ex
    from interpreter.errors import EvaluationError
    from interpreter.inputs import map_strings, pointer_of
    from interpreter.loader import Path
    from interpreter.plan import (
        ActionStep,
        CasesStep,
        ConditionStep,
        NodeCall,
        NodeContext,
        Plan,
        StepPlan,
    )
    from workflows import own_writes, search

from workflows import agent_step, approval_step, calls, metrics, wait_step

StepStatus = Literal["pending", "running", "completed", "failed", "skipped", "not_run"]
"""``skipped``: its branch was not taken; ``not_run``: the run stopped before reaching it."""

OWN_WRITES_PATCH = "report-own-writes"


class InterpretInput(BaseModel):
    """Start input of ``InterpreterWorkflow``: the pinned plan and the trigger payload."""

    plan: Plan
    trigger: dict[str, Any]
    workspace: str = "default"
    incident_id: str | None = None
    set_search_attributes: bool = True
    incident_workflow_id: str | None = None
    event_seq: int = 0
    incident_io_task_queue: str = DEFAULT_INCIDENT_IO_TASK_QUEUE
    """Where the run's own incident.io calls run (an approval's timeline entry); its plan's
    incident.io steps carry the queue they were compiled with."""


class StepResult(BaseModel):
    """How one step ended."""

    id: str
    type: str
    status: StepStatus
    output: Any = None
    error: str | None = None


class RunResult(BaseModel):
    """The outcome of a run, also served by the ``state`` query while it runs."""

    status: Literal["running", "completed", "failed"]
    error: str | None = None
    steps: list[StepResult]


class StepFailedError(Exception):
    """A step failed and the run must stop (raised inside the workflow only)."""


@workflow.defn(name=INTERPRETER_WORKFLOW)
class InterpreterWorkflow:
    """Runs a Plan: walks the root steps in order, taking the branches conditions choose."""

    def __init__(self) -> None:
        self._plan: Plan | None = None
        self._results: dict[str, StepResult] = {}
        self._outputs: dict[str, Any] = {}
        self._status: Literal["running", "completed", "failed"] = "running"
        self._error: str | None = None
        self._input: InterpretInput | None = None
        self._events: list[IncidentEvent] = []
        self.approval_book = approval_step.ApprovalBook()
        self.agent_pushes: dict[str, AgentUpdate] = {}

    @workflow.signal
    def incident_event(self, event: IncidentEvent) -> None:
        """An event of the incident this run waits on (sent by its IncidentWorkflow)."""
        self._events.append(event)

    @workflow.query
    def state(self) -> RunResult:
        """Every step's status and output so far."""
        return RunResult(status=self._status, error=self._error, steps=list(self._results.values()))

    @workflow.query
    def approvals(self) -> list[PendingApproval]:
        """Every approval step reached so far: waiting, decided or timed out."""
        return list(self.approval_book.items.values())

    @workflow.update
    def decide(self, params: DecideInput) -> DecideResult:
        """Approves or rejects a waiting approval step (deduplicated by update id)."""
        return self.approval_book.decide(params, workflow.now())

    @decide.validator
    def _check_decision(self, params: DecideInput) -> None:
        self.approval_book.check(params, workflow.now())

    @workflow.signal
    def agent_update(self, update: AgentUpdate) -> None:
        """An A2A push: the agent task of ``update.step_id`` changed state; poll it now."""
        self.agent_pushes[update.step_id] = update

    @workflow.run
    async def run(self, params: InterpretInput) -> RunResult:
        self._input = params
        self._plan = plan = params.plan
        self._results = {
            s.id: StepResult(id=s.id, type=s.type, status="pending") for s in plan.ordered_steps()
        }
        if params.set_search_attributes:
            self._upsert_search_attributes(params)
        metrics.run_started(plan.name)
        try:
            await self._sequence(plan.root)
        except StepFailedError as exc:
            self._finish("failed", str(exc))
            metrics.run_finished(plan.name, failed=True)
            # The step report rides in the failure, so callers need no query to show it.
            raise ApplicationError(
                str(exc),
                self.state().model_dump(mode="json"),
                type="StepFailed",
                non_retryable=True,
            ) from None
        self._finish("completed", None)
        metrics.run_finished(plan.name, failed=False)
        return self.state()

    def _finish(self, status: Literal["completed", "failed"], error: str | None) -> None:
        self._status = status
        self._error = error
        # Untaken branches are already ``skipped``; what is left was never reached.
        left: StepStatus = "skipped" if status == "completed" else "not_run"
        for result in self._results.values():
            if result.status == "pending":
                result.status = left

    async def _sequence(self, ids: tuple[str, ...]) -> None:
        assert self._plan is not None
        for sid in ids:
            await self._step(self._plan.steps[sid])

    async def _step(self, step: StepPlan) -> None:
        result = self._results[step.id]
        result.status = "running"
        match step:
            case ConditionStep():
                value = self._condition(step)
                if not isinstance(value, bool):
                    raise self._fail(
                        step,
                        f"{step.condition.location}: "
                        f"condition of step '{step.id}' must be true or false, "
                        f"got {ex.to_text(value)!r}",
                    )
                branch = "onTrue" if value else "onFalse"
                self._complete(step, {"value": value, "branch": branch})
                targets = step.branches.get(branch, ())
                self._skip_others(step, targets)
                await self._sequence(targets)
            case CasesStep():
                value = self._condition(step)
                chosen, targets = self._pick_case(step, value)
                self._complete(step, {"value": value, "branch": chosen})
                self._skip_others(step, targets)
                await self._sequence(targets)
            case ActionStep():
                await self._action(step)

    def _pick_case(self, step: CasesStep, value: Any) -> tuple[str | None, tuple[str, ...]]:
        for index, case in enumerate(step.cases):
            if ex.values_equal(value, case.value):
                return f"cases.{index}", case.steps
        if step.default is not None:
            return "default", step.default
        return None, ()

    def _condition(self, step: ConditionStep | CasesStep) -> Any:
        source = step.condition.source
        try:
            return ex.evaluate(ex.parse_expression(source), self._context(), source)
        except EvaluationError as exc:
            raise self._fail(step, f"{step.condition.location}: step '{step.id}': {exc}") from None

    async def _action(self, step: ActionStep) -> None:
        assert self._plan is not None
        inputs, unresolved = step.resolve_references(
            self._render_inputs(step), self._outputs, self._plan.steps
        )
        for warning in unresolved:
            workflow.logger.warning(warning)
        assert self._input is not None
        info = workflow.info()
        call = NodeCall(
            context=NodeContext(
                workspace=self._input.workspace,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                step_id=step.id,
                definition=self._input.plan.name,
                incident_id=self._input.incident_id,
            ),
            inputs=inputs,
        )
        own = self._reports_own_writes(step, inputs)
        if own:
            await self.tell_incident(
                OwnWrite(workflow_id=info.workflow_id, step_id=step.id, phase="intent")
            )
        try:
            output = await self._dispatch(step, call)
        except (ActivityError, ApplicationError) as exc:
            if own:
                await self.tell_incident(
                    OwnWrite(workflow_id=info.workflow_id, step_id=step.id, phase="failed")
                )
            message = f"step '{step.id}' ({step.type}) failed: {calls.failure_cause(exc)}"
            kind = metrics.error_kind(exc)
            if not step.continue_on_error:
                raise self._fail(step, message, kind=kind) from None
            metrics.step_failed(self._plan.name, node=step.type, error_kind=kind)
            workflow.logger.warning("%s; continuing (continueOnError)", message)
            result = self._results[step.id]
            result.status, result.error = "failed", message
            self._outputs[step.id] = {"error": message}
            result.output = self._outputs[step.id]
            self._skip_others(step, ())
            return
        if own:
            await self.tell_incident(
                own_writes.claim(
                    workflow_id=info.workflow_id,
                    step_id=step.id,
                    node=step.type,
                    inputs=inputs,
                    output=output,
                )
            )
        self._complete(step, output)
        taken = _taken_branches(step, output)
        self._skip_others(step, taken[0] if taken else ())
        for targets in taken:
            await self._sequence(targets)

    def _reports_own_writes(self, step: ActionStep, inputs: dict[str, Any]) -> bool:
        """Whether this step writes to the run's incident, whose workflow must hear of it."""
        target = inputs.get("incidentId")
        return (
            step.writes_incident and isinstance(target, str) and self.reports_own_writes_to(target)
        )

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

    async def _dispatch(self, step: ActionStep, call: NodeCall) -> Any:
        match step.node_kind:
            case "activity":
                return await self._activity(step, call)
            case "agent":
                return await agent_step.run(self, step, call)
            case "approval":
                return await approval_step.run(self, step, call)
            case "wait":
                return await wait_step.run(self, step, call)
        raise ApplicationError(
            f"node kind '{step.node_kind}' is not supported by this worker", non_retryable=True
        )

    async def _activity(self, step: ActionStep, call: NodeCall) -> Any:
        return await calls.call(step, step.type, call, result_type=dict)

    def _render_inputs(self, step: ActionStep) -> dict[str, Any]:
        ctx = self._context()

        def render(path: Path, text: str) -> Any:
            if not ex.has_expression(text):
                return text
            try:
                return ex.render(ex.parse_template(text), ctx)
            except EvaluationError as exc:
                location = step.location_of(pointer_of(path), exc.offset)
                raise self._fail(step, f"{location}: step '{step.id}': {exc}") from None

        rendered = map_strings(step.inputs, render)
        assert isinstance(rendered, dict)
        return rendered

    def _context(self) -> ex.Context:
        assert self._input is not None and self._plan is not None
        plan = self._plan
        info = workflow.info()
        skipped = frozenset(sid for sid in plan.steps if sid not in self._outputs)
        return ex.Context(
            trigger=self._input.trigger,
            steps=self._outputs,
            workflow={
                "name": plan.name,
                "description": plan.description,
                "version": plan.version,
                "digest": plan.digest,
                "workflow_id": info.workflow_id,
                "run_id": info.run_id,
                "workspace": self._input.workspace,
                "trigger_type": plan.trigger_type,
                "started_at": info.start_time.isoformat(),
                "agent": plan.agent.model_dump() if plan.agent else None,
            },
            skipped=skipped,
        )

    def _skip_others(self, step: StepPlan, taken: tuple[str, ...]) -> None:
        """Marks every step of the branches ``step`` did not take (and theirs) ``skipped``."""
        assert self._plan is not None
        keep = set(taken)
        todo = [sid for ids in step.branch_lists() for sid in ids if sid not in keep]
        while todo:
            result = self._results.get(todo.pop())
            if result is None or result.status != "pending":
                continue
            result.status = "skipped"
            todo.extend(sid for ids in self._plan.steps[result.id].branch_lists() for sid in ids)

    def _complete(self, step: StepPlan, output: Any) -> None:
        self._outputs[step.id] = output
        result = self._results[step.id]
        result.status, result.output = "completed", output

    def _fail(self, step: StepPlan, message: str, *, kind: str = "expression") -> StepFailedError:
        assert self._plan is not None
        metrics.step_failed(self._plan.name, node=step.type, error_kind=kind)
        result = self._results[step.id]
        result.status, result.error = "failed", message
        workflow.logger.error(message)
        return StepFailedError(message)

    def _upsert_search_attributes(self, params: InterpretInput) -> None:
        present = workflow.info().typed_search_attributes
        missing = [
            p.key.value_set(p.value)
            for p in search_attribute_pairs(params)
            if present.get(p.key) is None
        ]
        if missing:
            workflow.upsert_search_attributes(missing)


def search_attribute_pairs(params: InterpretInput) -> list[SearchAttributePair[str]]:
    """What a run is found by in the Temporal UI; starters set them so no upsert is needed."""
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(search.DEFINITION_NAME, params.plan.name),
        SearchAttributePair(search.TRIGGER_TYPE, params.plan.trigger_type),
        SearchAttributePair(search.WORKSPACE, params.workspace),
    ]
    if params.incident_id:
        pairs.append(SearchAttributePair(search.INCIDENT_ID, params.incident_id))
    reference = params.trigger.get("incident_io", {}).get("reference")
    if isinstance(reference, str) and reference:
        pairs.append(SearchAttributePair(search.INCIDENT_REFERENCE, reference))
    severity = params.trigger.get("incident_io", {}).get("severity")
    if isinstance(severity, str):
        pairs.append(SearchAttributePair(search.INCIDENT_SEVERITY, severity))
    return pairs


def _taken_branches(step: ActionStep, output: Any) -> list[tuple[str, ...]]:
    """Action nodes with branches (approvals, waits) report the branch they took."""
    if not step.branches or not isinstance(output, dict):
        return []
    branch = output.get("branch")
    return [step.branches[branch]] if isinstance(branch, str) and branch in step.branches else []


def result_of_failure(error: BaseException) -> RunResult | None:
    """The step report carried by a failed run's ``WorkflowFailureError``, if any."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, ApplicationError) and cause.type == "StepFailed" and cause.details:
        return RunResult.model_validate(cause.details[0])
    return None


__all__ = [
    "InterpretInput",
    "InterpreterWorkflow",
    "RunResult",
    "StepResult",
    "search_attribute_pairs",
]
