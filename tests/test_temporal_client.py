"""The client side of runs on a real Temporal: start_run, run_result and run_state."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import temporal_client
from activities.debug import echo
from contracts import search
from contracts.runs import InterpretInput
from interpreter.compiler import compile_text
from interpreter.nodes import Catalogue, NodeSpec
from interpreter.plan import NodeCall
from tests.waiting import eventually
from tests.workflows.helpers import CALLS, CATALOGUE, FAKE_ACTIVITIES
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio

HEAD = "name: client-run\ntrigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"
TRIGGER = {"incident_io": {"incident_id": "01CLI", "reference": "INC-7", "severity": "SEV-2"}}
RELEASED = asyncio.Event()


class NoInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")


@activity.defn(name="test.block")
async def block(call: NodeCall) -> dict[str, Any]:
    """Runs until the test releases it (or the worker shuts down and cancels it)."""
    await RELEASED.wait()
    return {}


BLOCKING = CATALOGUE.merged(
    Catalogue(nodes={"test.block": NodeSpec("test.block", NoInputs)}, triggers={})
)


def params_of(steps: str, *, catalogue: Catalogue = CATALOGUE) -> InterpretInput:
    plan = compile_text(HEAD + steps, file="t.yaml", catalogue=catalogue)
    return InterpretInput(
        plan=plan,
        trigger=TRIGGER,
        workspace="acme",
        incident_id="01CLI",
        # the run upserts nothing itself: every attribute found was set by start_run
        set_search_attributes=False,
    )


def worker(env: WorkflowEnvironment, queue: str) -> Worker:
    return Worker(
        env.client,
        task_queue=queue,
        workflows=[InterpreterWorkflow],
        activities=[echo, block, *FAKE_ACTIVITIES],
    )


async def test_start_run_sets_the_search_attributes_and_run_result_is_the_outcome(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    params = params_of("  - id: a\n    type: debug.echo\n    inputs: {said: hello}\n")
    async with worker(dev_env, task_queue):
        handle = await temporal_client.start_run(
            dev_env.client, params, workflow_id=f"run-{uuid.uuid4().hex}", task_queue=task_queue
        )
        result = await temporal_client.run_result(handle)
        attributes = (await handle.describe()).typed_search_attributes
    assert result.status == "completed"
    assert [(s.id, s.status, s.output) for s in result.steps] == [
        ("a", "completed", {"said": "hello"})
    ]
    assert {key.name: attributes.get(key) for key in search.ALL_KEYS} == {
        "DefinitionName": "client-run",
        "TriggerType": "trigger.incident_io.incident.created",
        "Workspace": "acme",
        "IncidentId": "01CLI",
        "IncidentReference": "INC-7",
        "IncidentSeverity": "SEV-2",
    }


async def test_run_result_reads_a_failed_runs_step_report_from_its_failure(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    key = uuid.uuid4().hex
    params = params_of(
        f"  - id: f\n    type: test.flaky\n    inputs: {{key: '{key}', fatal: true}}\n"
        "  - id: after\n    type: debug.echo\n"
    )
    async with worker(dev_env, task_queue):
        handle = await temporal_client.start_run(
            dev_env.client, params, workflow_id=f"run-{uuid.uuid4().hex}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    # No worker is left to answer a query: the report can only come from the failure.
    result = await temporal_client.run_result(handle)
    assert result.status == "failed"
    assert result.error == "step 'f' (test.flaky) failed: Permission denied: the token was revoked"
    assert {s.id: s.status for s in result.steps} == {"f": "failed", "after": "not_run"}
    assert CALLS[key] == 1


async def test_run_state_while_it_runs_and_run_result_of_a_run_ended_without_a_report(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    params = params_of(
        "  - id: a\n    type: debug.echo\n    inputs: {said: first}\n"
        "  - id: b\n    type: test.block\n    inputs: {}\n",
        catalogue=BLOCKING,
    )
    workflow_id = f"run-{uuid.uuid4().hex}"
    RELEASED.clear()
    try:
        async with worker(dev_env, task_queue):
            handle = await temporal_client.start_run(
                dev_env.client, params, workflow_id=workflow_id, task_queue=task_queue
            )

            async def b_running() -> dict[str, str] | None:
                state = await temporal_client.run_state(dev_env.client, workflow_id)
                found: dict[str, str] = {s.id: s.status for s in state.steps}
                return found if found.get("b") == "running" else None

            assert await eventually(b_running) == {"a": "completed", "b": "running"}
            # Terminated, the run carries no step report: run_result asks its state.
            await handle.terminate(reason="test")
            result = await temporal_client.run_result(handle)
    finally:
        RELEASED.set()
    assert result.status == "running"
    assert {s.id: s.status for s in result.steps} == {"a": "completed", "b": "running"}
    assert result.steps[0].output == {"said": "first"}


async def test_run_state_of_no_such_run_says_so(dev_env: WorkflowEnvironment) -> None:
    with pytest.raises(temporal_client.WorkflowNotFoundError, match="no running workflow 'none-"):
        await temporal_client.run_state(dev_env.client, f"none-{uuid.uuid4().hex}")
