"""agent.dispatch on the time-skipping server, against the A2A agent simulator over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.agents import AgentActivities, AgentTask, AgentTaskRef, StaticAgentRegistry
from activities.debug import echo
from contracts.runs import InterpretInput, RunResult
from interpreter.compiler import compile_text
from simulators.agent import AgentConfig, AgentRecord, create_app
from simulators.server import free_port, serve
from temporal_client import result_of_failure
from workflows.interpreter import InterpreterWorkflow

from .helpers import CATALOGUE

pytestmark = pytest.mark.asyncio

HEAD = "name: agent\ntrigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"
TRIGGER = {"incident_io": {"incident_id": "INC-12", "title": "Payments 5xx", "severity": "SEV-1"}}


def dispatch(card: str = "incident-responder", extra: str = "", **payload: str) -> str:
    fields = "".join(f"\n        {k}: {v!r}" for k, v in payload.items())
    return (
        f"  - id: call_agent\n    type: agent.dispatch\n    inputs:\n      agentCard: {card}\n"
        f"      payload:\n        incident_id: '{{{{ $trigger.incident_io.incident_id }}}}'"
        f"{fields}\n{extra}"
        "  - id: note\n    type: debug.echo\n    inputs:\n"
        "      text: 'Agent: {{ $steps.call_agent.summary }}'\n"
    )


@dataclass
class Rig:
    env: WorkflowEnvironment
    queue: str
    record: AgentRecord
    refuse_cancel: list[bool]

    async def run(self, steps: str) -> tuple[RunResult, Any]:
        plan = compile_text(HEAD + steps, file="agent.yaml", catalogue=CATALOGUE)
        handle = await self.env.client.start_workflow(
            InterpreterWorkflow.run,
            InterpretInput(plan=plan, trigger=TRIGGER, set_search_attributes=False),
            id=f"agent-{uuid.uuid4().hex}",
            task_queue=self.queue,
        )
        try:
            result = await handle.result()
        except WorkflowFailureError as failure:
            carried = result_of_failure(failure)
            assert carried is not None
            result = carried
        return result, await handle.fetch_history()


@pytest_asyncio.fixture
async def rig(time_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Rig]:
    port = free_port()
    record = AgentRecord()
    config = AgentConfig(public_url=f"http://127.0.0.1:{port}", work_seconds=0.0)
    legacy = FastAPI()

    @legacy.get("/.well-known/agent.json")
    async def card() -> dict[str, Any]:
        return {
            "name": "legacy",
            "protocolVersion": "0.3.0",
            "url": f"http://127.0.0.1:{port}/a2a/v1",
        }

    async with (
        serve(create_app(config, record=record), port=port) as url,
        serve(legacy) as legacy_url,
        httpx.AsyncClient(timeout=10) as http,
    ):
        registry = StaticAgentRegistry({"incident-responder": url, "legacy": legacy_url})
        agents = AgentActivities(http, registry=registry)
        refuse_cancel = [False]

        @activity.defn(name="agent.cancel")
        async def cancel(ref: AgentTaskRef) -> AgentTask:
            task = await agents.cancel(ref)  # the simulator's task ends either way
            if refuse_cancel[0]:
                raise ApplicationError("the agent answered 503", non_retryable=True)
            return task

        others = [a for a in agents.all() if a.__name__ != "cancel"]
        async with Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=[InterpreterWorkflow],
            activities=[echo, *others, cancel],
        ):
            yield Rig(time_env, task_queue, record, refuse_cancel)


def activities_in(history: Any) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_completes_with_a_summary_later_steps_can_use(rig: Rig) -> None:
    result, history = await rig.run(dispatch())
    agent, note = result.steps
    assert agent.status == "completed"
    assert agent.output["state"] == "completed"
    assert agent.output["summary"].startswith("Mitigated INC-12: restarted payments-api")
    assert agent.output["branch"] is None
    assert agent.output["artifacts"][0]["name"] == "summary"
    assert note.output["text"] == "Agent: " + agent.output["summary"]
    assert rig.record.outcomes == {agent.output["taskId"]: "completed"}
    assert activities_in(history)[0] == "agent.send"


async def test_a_v0_3_agent_works_the_same(rig: Rig) -> None:
    result, _ = await rig.run(dispatch("legacy"))
    assert result.steps[0].output["summary"].startswith("Mitigated INC-12")


async def test_a_failed_task_fails_the_step_with_the_agents_words(rig: Rig) -> None:
    result, _ = await rig.run(dispatch(simulate="fail"))
    assert result.status == "failed"
    task_id = next(iter(rig.record.outcomes))
    assert result.error == (
        "step 'call_agent' (agent.dispatch) failed: agent 'incident-responder' ended the task "
        f"{task_id} as failed: Could not mitigate INC-12: simulated failure"
    )
    assert [s.status for s in result.steps] == ["failed", "not_run"]


async def test_continue_on_error_lets_the_run_go_on(rig: Rig) -> None:
    steps = dispatch(simulate="fail", extra="    continueOnError: true\n")
    steps = steps.replace("Agent: {{ $steps.call_agent.summary }}", "Agent finished")
    result, _ = await rig.run(steps)
    assert result.status == "completed"
    assert result.steps[0].status == "failed"
    assert result.steps[1].status == "completed"


async def test_timeout_cancels_the_task_and_takes_on_timeout(rig: Rig) -> None:
    extra = "    onTimeout: [page]\n  - id: page\n    type: debug.echo\n    inputs: {who: oncall}\n"
    steps = dispatch(simulate="hang", extra=extra).replace(
        "      payload:", "      timeout: 30m\n      payload:"
    )
    result, history = await rig.run(steps)
    agent = {s.id: s for s in result.steps}
    assert agent["call_agent"].output["state"] == "timeout"
    assert agent["call_agent"].output["branch"] == "onTimeout"
    assert agent["page"].status == "completed"
    assert rig.record.outcomes == {agent["call_agent"].output["taskId"]: "canceled"}
    polls = activities_in(history).count("agent.get")
    assert 20 <= polls <= 45, polls  # backed off: not 360 polls of 5 s


async def test_a_failed_cancel_after_the_timeout_is_in_the_output(rig: Rig) -> None:
    rig.refuse_cancel[0] = True
    extra = "    onTimeout: [page]\n  - id: page\n    type: debug.echo\n    inputs: {who: oncall}\n"
    steps = dispatch(simulate="hang", extra=extra).replace(
        "      payload:", "      timeout: 30m\n      payload:"
    )
    result, _ = await rig.run(steps)
    output = result.steps[0].output
    assert output["branch"] == "onTimeout"
    assert output["problems"] == [
        f"task {output['taskId']} could not be cancelled: the agent answered 503"
    ]


async def test_timeout_without_on_timeout_fails_and_says_so(rig: Rig) -> None:
    steps = dispatch(simulate="hang").replace(
        "      payload:", "      timeout: 10m\n      payload:"
    )
    result, _ = await rig.run(steps)
    task_id = next(iter(rig.record.outcomes))
    assert result.error == (
        "step 'call_agent' (agent.dispatch) failed: agent 'incident-responder' did not finish "
        f"within 10m (task {task_id} cancelled)"
    )
