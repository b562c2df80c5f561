"""``agent.dispatch``: hand a payload to an A2A agent and wait durably for its result.

The wait is workflow code: a timer between ``agent.get`` calls, woken early by the
``agent_update`` signal (an A2A push), so no activity slot is held while the agent
works. The poll interval backs off (x1.5 up to 60 s): a 30-minute task costs about
35 activities, not 360.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.agents import AgentDispatchInput, AgentSendInput, AgentTask, AgentTaskRef
    from contracts.messages import AgentUpdate
    from interpreter.plan import ActionStep, NodeCall


from workflows import calls
from workflows.host import StepHost

BACKOFF = 1.5
MAX_POLL_SECONDS = 60.0
INTERRUPTED = frozenset({"input-required", "auth-required"})


async def run(host: StepHost, step: ActionStep, call: NodeCall) -> dict[str, Any]:
    """Runs the step for the run ``host`` and returns its output."""
    params = calls.inputs_of(AgentDispatchInput, call)
    ctx = call.context
    send = AgentSendInput(
        workspace=ctx.workspace,
        agent_card=params.agentCard,
        payload=params.payload,
        message_id=ctx.idempotency_key,
        text=params.text,
        incident_id=ctx.incident_id,
    )
    task = await calls.call(step, "agent.send", send, result_type=AgentTask)
    deadline = workflow.now() + timedelta(seconds=params.timeout)
    interval = params.pollInterval
    pushes: dict[str, AgentUpdate] = host.agent_pushes
    while not task.terminal and task.state not in INTERRUPTED:
        remaining = (deadline - workflow.now()).total_seconds()
        if remaining <= 0:
            return await _timed_out(step, params, _ref(ctx.workspace, task))
        await _sleep_or_push(pushes, step.id, task.task_id, min(interval, remaining))
        interval = min(interval * BACKOFF, MAX_POLL_SECONDS)
        task = await calls.call(step, "agent.get", _ref(ctx.workspace, task), result_type=AgentTask)
    return _finished(params, task)


async def _sleep_or_push(
    pushes: dict[str, AgentUpdate], step_id: str, task_id: str, seconds: float
) -> None:
    """A durable timer that an ``agent_update`` signal for this task ends early."""

    def pushed() -> bool:
        update = pushes.get(step_id)
        return update is not None and update.task_id == task_id

    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(pushed, timeout=timedelta(seconds=seconds))
    pushes.pop(step_id, None)


def _ref(workspace: str, task: AgentTask) -> AgentTaskRef:
    return AgentTaskRef(
        workspace=workspace, rpc_url=task.rpc_url, protocol=task.protocol, task_id=task.task_id
    )


def _finished(params: AgentDispatchInput, task: AgentTask) -> dict[str, Any]:
    if task.state == "completed":
        return _output(task)
    detail = task.message or "no reason given"
    if task.state in INTERRUPTED:
        raise ApplicationError(
            f"agent '{params.agentCard}' needs {task.state.replace('-required', '')} "
            f"(task {task.task_id}), which a workflow cannot give: {detail}",
            non_retryable=True,
        )
    raise ApplicationError(
        f"agent '{params.agentCard}' ended the task {task.task_id} as {task.state}: {detail}",
        non_retryable=True,
    )


async def _timed_out(
    step: ActionStep, params: AgentDispatchInput, ref: AgentTaskRef
) -> dict[str, Any]:
    cancelled = f"task {ref.task_id} cancelled"
    problems: list[str] = []
    try:
        final = await calls.call(step, "agent.cancel", ref, result_type=AgentTask)
        if final.state == "completed":
            return _output(final)  # it finished while we were giving up on it
    except ActivityError as exc:
        # The wait is over either way; the agent may go on working, which the output says.
        cancelled = f"task {ref.task_id} could not be cancelled"
        problems.append(f"{cancelled}: {calls.failure_cause(exc)}")
    if "onTimeout" in step.branches:
        return {
            "taskId": ref.task_id,
            "state": "timeout",
            "summary": None,
            "artifacts": [],
            "branch": "onTimeout",
            "problems": problems,
        }
    raise ApplicationError(
        f"agent '{params.agentCard}' did not finish within {calls.human_duration(params.timeout)} "
        f"({cancelled})",
        non_retryable=True,
    )


def _output(task: AgentTask) -> dict[str, Any]:
    return {
        "taskId": task.task_id,
        "state": task.state,
        "summary": task.summary,
        "artifacts": task.artifacts,
        "branch": None,
        "problems": [],
    }
