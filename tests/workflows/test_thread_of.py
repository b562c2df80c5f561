"""``threadOf: <step id>`` on slack.post resolves to the earlier post's ts at render time."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.catalogue import default_catalogue
from contracts.runs import InterpretInput
from interpreter.compiler import compile_text
from interpreter.plan import NodeCall
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio

DEFINITION = """\
name: threads
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: top
    type: slack.post
    inputs: {channel: "#incidents", message: "SEV-1 opened"}
  - id: reply
    type: slack.post
    inputs: {channel: "#incidents", message: "agent assigned", threadOf: top}
  - id: literal
    type: slack.post
    inputs: {channel: "#incidents", message: "by ts", threadOf: "1700000000.000100"}
"""

SEEN: list[dict[str, Any]] = []


@activity.defn(name="slack.post")
async def post(call: NodeCall) -> dict[str, Any]:
    SEEN.append(call.inputs)
    return {"channel": "C1", "ts": f"1700000001.{len(SEEN):06d}", "permalink": "p"}


async def test_thread_of_becomes_thread_ts(time_env: WorkflowEnvironment, task_queue: str) -> None:
    plan = compile_text(DEFINITION, file="threads.yaml", catalogue=default_catalogue())
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[InterpreterWorkflow], activities=[post]
    ):
        await time_env.client.execute_workflow(
            InterpreterWorkflow.run,
            InterpretInput(plan=plan, trigger={"incident_io": {}}, set_search_attributes=False),
            id=f"threads-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    top, reply, literal = SEEN
    assert "threadTs" not in top
    assert reply == {
        "channel": "#incidents",
        "message": "agent assigned",
        "threadTs": "1700000001.000001",
    }
    assert literal["threadOf"] == "1700000000.000100"  # a ts is left to the activity


BRANCHED = """\
name: threads-branched
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: gate
    type: condition
    condition: "{{ $trigger.incident_io.severity == 'SEV-1' }}"
    onTrue: [top]
  - id: top
    type: slack.post
    inputs: {channel: "#incidents", message: "SEV-1 opened"}
  - id: reply
    type: slack.post
    inputs: {channel: "#incidents", message: "agent assigned", threadOf: top}
"""


async def test_a_thread_of_step_that_did_not_run_is_reported_with_the_step(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The reply goes to the channel, and its result says why it is not in a thread."""
    SEEN.clear()
    plan = compile_text(BRANCHED, file="threads.yaml", catalogue=default_catalogue())
    async with Worker(
        time_env.client, task_queue=task_queue, workflows=[InterpreterWorkflow], activities=[post]
    ):
        result = await time_env.client.execute_workflow(
            InterpreterWorkflow.run,
            InterpretInput(
                plan=plan,
                trigger={"incident_io": {"severity": "SEV-2"}},
                set_search_attributes=False,
            ),
            id=f"threads-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    assert SEEN == [{"channel": "#incidents", "message": "agent assigned"}]
    steps = {s.id: s for s in result.steps}
    assert steps["top"].status == "skipped"
    assert steps["reply"].status == "completed"
    assert steps["reply"].warnings == [
        "step 'reply': 'top' posted nothing to thread under; posting to the channel"
    ]
