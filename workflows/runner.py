"""The walk of one run's plan, wherever the run executes.

A run is either its own workflow (``InterpreterWorkflow``, a child of the incident's
workflow) or inline, an ``asyncio`` task of ``IncidentWorkflow`` itself (a plan with no
step that waits). ``PlanRun`` holds the run's step results and walks the plan the same way
in both: conditions and cases are evaluated in workflow code, one activity per executed
action step; what differs is the ``StepHost`` it is given and the identity it carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.incident import OwnWrite
    from contracts.runs import InterpretInput, RunResult, StepResult, StepStatus
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
    from workflows import own_writes

from workflows import agent_step, approval_step, calls, metrics, wait_step
from workflows.host import StepHost

WAITING_KINDS = frozenset({"agent", "approval", "wait"})
"""Node kinds that wait for a person, an agent or an event: never run inline."""


class StepFailedError(Exception):
    """A step failed and the run must stop (raised inside the workflow only)."""


@dataclass(frozen=True)
class RunIdentity:
    """Who the run is to its nodes: idempotency keys, ``$workflow``, activity summaries.

    ``workflow_id`` is the child workflow's id, or for an inline run the id a child would
    have had (unique per incident, event and definition, so idempotency keys stay so).
    """

    workflow_id: str
    run_id: str
    started_at: datetime
    summary_prefix: str = ""


def runs_inline(plan: Plan) -> bool:
    """Whether ``plan`` can run inside the incident's workflow: no step of it waits."""
    return not any(
        isinstance(s, ActionStep) and s.node_kind in WAITING_KINDS for s in plan.steps.values()
    )


class PlanRun:
    """One run of a plan: walks the root steps in order, taking the branches conditions choose."""

    def __init__(self, params: InterpretInput, host: StepHost, identity: RunIdentity) -> None:
        self.params = params
        self.plan = params.plan
        self.host = host
        self.identity = identity
        self.results = {
            s.id: StepResult(id=s.id, type=s.type, status="pending")
            for s in params.plan.ordered_steps()
        }
        self.outputs: dict[str, Any] = {}
        self.status: Literal["running", "completed", "failed"] = "running"
        self.error: str | None = None

    def state(self) -> RunResult:
        """Every step's status and output so far."""
        return RunResult(status=self.status, error=self.error, steps=list(self.results.values()))

    async def execute(self) -> RunResult:
        """Runs the plan; raises ``StepFailedError`` (the run then ``failed``) when a step fails."""
        metrics.run_started(self.plan.name)
        try:
            await self._sequence(self.plan.root)
        except StepFailedError as exc:
            self._finish("failed", str(exc))
            metrics.run_finished(self.plan.name, failed=True)
            raise
        self._finish("completed", None)
        metrics.run_finished(self.plan.name, failed=False)
        return self.state()

    def _finish(self, status: Literal["completed", "failed"], error: str | None) -> None:
        self.status = status
        self.error = error
        # Untaken branches are already ``skipped``; what is left was never reached.
        left: StepStatus = "skipped" if status == "completed" else "not_run"
        for result in self.results.values():
            if result.status == "pending":
                result.status = left

    async def _sequence(self, ids: tuple[str, ...]) -> None:
        for sid in ids:
            await self._step(self.plan.steps[sid])

    async def _step(self, step: StepPlan) -> None:
        result = self.results[step.id]
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
                chosen, targets = _pick_case(step, value)
                self._complete(step, {"value": value, "branch": chosen})
                self._skip_others(step, targets)
                await self._sequence(targets)
            case ActionStep():
                await self._action(step)

    def _condition(self, step: ConditionStep | CasesStep) -> Any:
        source = step.condition.source
        try:
            return ex.evaluate(ex.parse_expression(source), self._context(), source)
        except EvaluationError as exc:
            raise self._fail(step, f"{step.condition.location}: step '{step.id}': {exc}") from None

    async def _action(self, step: ActionStep) -> None:
        inputs, unresolved = step.resolve_references(
            self._render_inputs(step), self.outputs, self.plan.steps
        )
        for warning in unresolved:
            workflow.logger.warning(warning)
        self.results[step.id].warnings = unresolved  # shown with the step, not only logged
        who = self.identity
        call = NodeCall(
            context=NodeContext(
                workspace=self.params.workspace,
                workflow_id=who.workflow_id,
                run_id=who.run_id,
                step_id=step.id,
                definition=self.plan.name,
                incident_id=self.params.incident_id,
            ),
            inputs=inputs,
        )
        own = self._reports_own_writes(step, inputs)
        if own:
            await self.host.tell_incident(
                OwnWrite(workflow_id=who.workflow_id, step_id=step.id, phase="intent")
            )
        try:
            output = await self._dispatch(step, call)
        except (ActivityError, ApplicationError) as exc:
            if own:
                await self.host.tell_incident(
                    OwnWrite(workflow_id=who.workflow_id, step_id=step.id, phase="failed")
                )
            self._failed_action(step, exc)
            return
        if own:
            await self.host.tell_incident(
                own_writes.claim(
                    step.incident_write,
                    workflow_id=who.workflow_id,
                    step_id=step.id,
                    inputs=inputs,
                    output=output,
                )
            )
        self._complete(step, output)
        taken = _taken_branches(step, output)
        self._skip_others(step, taken[0] if taken else ())
        for targets in taken:
            await self._sequence(targets)

    def _failed_action(self, step: ActionStep, exc: ActivityError | ApplicationError) -> None:
        """Stops the run, or with ``continueOnError`` records the failure as the output."""
        message = f"step '{step.id}' ({step.type}) failed: {calls.failure_cause(exc)}"
        kind = metrics.error_kind(exc)
        if not step.continue_on_error:
            raise self._fail(step, message, kind=kind) from None
        metrics.step_failed(self.plan.name, node=step.type, error_kind=kind)
        workflow.logger.warning("%s; continuing (continueOnError)", message)
        result = self.results[step.id]
        result.status, result.error = "failed", message
        self.outputs[step.id] = {"error": message}
        result.output = self.outputs[step.id]
        self._skip_others(step, ())

    def _reports_own_writes(self, step: ActionStep, inputs: dict[str, Any]) -> bool:
        """Whether this step writes to the run's incident, whose workflow must hear of it."""
        write = step.incident_write
        target = None if write is None else inputs.get(write.target)
        return isinstance(target, str) and self.host.reports_own_writes_to(target)

    async def _dispatch(self, step: ActionStep, call: NodeCall) -> Any:
        match step.node_kind:
            case "activity":
                summary = f"{self.identity.summary_prefix}{step.id}"
                if step.local:
                    return await calls.call_local(step, call, result_type=dict, summary=summary)
                return await calls.call(step, step.type, call, result_type=dict, summary=summary)
            case "agent":
                return await agent_step.run(self.host, step, call)
            case "approval":
                return await approval_step.run(self.host, step, call)
            case "wait":
                return await wait_step.run(self.host, step, call)
        raise ApplicationError(
            f"node kind '{step.node_kind}' is not supported by this worker", non_retryable=True
        )

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
        plan, who = self.plan, self.identity
        skipped = frozenset(sid for sid in plan.steps if sid not in self.outputs)
        return ex.Context(
            trigger=self.params.trigger,
            steps=self.outputs,
            workflow={
                "name": plan.name,
                "description": plan.description,
                "version": plan.version,
                "digest": plan.digest,
                "workflow_id": who.workflow_id,
                "run_id": who.run_id,
                "workspace": self.params.workspace,
                "trigger_type": plan.trigger_type,
                "started_at": who.started_at.isoformat(),
                "agent": plan.agent.model_dump() if plan.agent else None,
            },
            skipped=skipped,
        )

    def _skip_others(self, step: StepPlan, taken: tuple[str, ...]) -> None:
        """Marks every step of the branches ``step`` did not take (and theirs) ``skipped``."""
        keep = set(taken)
        todo = [sid for ids in step.branch_lists() for sid in ids if sid not in keep]
        while todo:
            result = self.results.get(todo.pop())
            if result is None or result.status != "pending":
                continue
            result.status = "skipped"
            todo.extend(sid for ids in self.plan.steps[result.id].branch_lists() for sid in ids)

    def _complete(self, step: StepPlan, output: Any) -> None:
        self.outputs[step.id] = output
        result = self.results[step.id]
        result.status, result.output = "completed", output

    def _fail(self, step: StepPlan, message: str, *, kind: str = "expression") -> StepFailedError:
        metrics.step_failed(self.plan.name, node=step.type, error_kind=kind)
        result = self.results[step.id]
        result.status, result.error = "failed", message
        workflow.logger.error(message)
        return StepFailedError(message)


def _pick_case(step: CasesStep, value: Any) -> tuple[str | None, tuple[str, ...]]:
    for index, case in enumerate(step.cases):
        if ex.values_equal(value, case.value):
            return f"cases.{index}", case.steps
    if step.default is not None:
        return "default", step.default
    return None, ()


def _taken_branches(step: ActionStep, output: Any) -> list[tuple[str, ...]]:
    """Action nodes with branches (approvals, waits) report the branch they took."""
    if not step.branches or not isinstance(output, dict):
        return []
    branch = output.get("branch")
    return [step.branches[branch]] if isinstance(branch, str) and branch in step.branches else []
