"""A step that fails for good says so: the last cause, the attempts made, the time spent."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.errors import integration_errors
from activities.incident_io.client import _translate
from contracts.runs import InterpretInput, RunResult
from interpreter.compiler import compile_text
from interpreter.nodes import Catalogue, NodeSpec
from interpreter.plan import NodeCall
from temporal_client import result_of_failure
from workflows.interpreter import InterpreterWorkflow

from .helpers import CATALOGUE

pytestmark = pytest.mark.asyncio

ATTEMPTS: Counter[str] = Counter()


class NoInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")


DEFINITION = """\
name: t
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: note
    type: test.unavailable
    retry: {maximumAttempts: 5, initialInterval: 100ms, backoffCoefficient: 1}
    inputs: {}
"""


@activity.defn(name="test.unavailable")
async def unavailable(call: NodeCall) -> dict[str, Any]:
    """incident.io answering 503 on every attempt, translated by the real client code."""
    ATTEMPTS[call.context.workflow_id] += 1
    with integration_errors():
        raise _translate(httpx.Response(503, json={"request_id": "req-503"}), resource="incident")


async def run(env: WorkflowEnvironment, queue: str, definition: str) -> tuple[str, RunResult]:
    catalogue = CATALOGUE.merged(
        Catalogue(nodes={"test.unavailable": NodeSpec("test.unavailable", NoInputs)}, triggers={})
    )
    plan = compile_text(definition, file="t.yaml", catalogue=catalogue)
    workflow_id = f"wf-{uuid.uuid4().hex}"
    async with Worker(
        env.client, task_queue=queue, workflows=[InterpreterWorkflow], activities=[unavailable]
    ):
        handle = await env.client.start_workflow(
            InterpreterWorkflow.run,
            InterpretInput(plan=plan, trigger={"incident_io": {}}, set_search_attributes=False),
            id=workflow_id,
            task_queue=queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    result = result_of_failure(failure.value)
    assert result is not None
    return workflow_id, result


async def test_a_final_failure_names_cause_attempts_and_time(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    workflow_id, result = await run(time_env, task_queue, DEFINITION)
    assert ATTEMPTS[workflow_id] == 5
    assert result.status == "failed"
    assert result.error is not None
    assert "retrying" not in result.error
    assert result.error.startswith(
        "step 'note' (test.unavailable) failed: ProviderUnavailableError: "
        "incident.io is unavailable (HTTP 503) "
        "(request id req-503) (after 5 attempts over "
    ), result.error
    step = next(s for s in result.steps if s.id == "note")
    assert step.error == result.error


async def test_a_non_retryable_failure_counts_the_attempt_it_stopped_at(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    definition = DEFINITION.replace("maximumAttempts: 5", "maximumAttempts: 1")
    workflow_id, result = await run(time_env, task_queue, definition)
    assert ATTEMPTS[workflow_id] == 1
    assert result.error is not None
    assert "(after 1 attempt over " in result.error
    assert "retrying" not in result.error
