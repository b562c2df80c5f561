"""A Linear rate limit seen from Temporal: the waiting step says why, or fails within its timeout."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.catalogue import default_catalogue
from activities.credentials import ChainedCredentials, StaticCredentials
from activities.linear import LinearActivities
from contracts.runs import InterpretInput
from interpreter.compiler import compile_text
from simulators.linear import SANDBOX_API_KEY, Faults, LinearState, RateLimit, create_app
from simulators.server import serve
from tests.waiting import eventually
from workflows.interpreter import InterpreterWorkflow

pytestmark = [pytest.mark.asyncio, pytest.mark.devserver]

DEFINITION = """\
name: ticket
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: ticket
    type: linear.issue.create
    timeout: {timeout}
    inputs: {{team: ENG, title: "Payments 5xx"}}
"""
STATE = re.compile(r"^rate-limited by Linear until \d\d:\d\d UTC")


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


def activities(http: httpx.AsyncClient, url: str, sleep: Any) -> LinearActivities:
    key = {("default", "linear", "api_key"): SANDBOX_API_KEY}
    return LinearActivities(
        ChainedCredentials([StaticCredentials(key)]), http, base_url=url, sleep=sleep
    )


async def start(
    env: WorkflowEnvironment, queue: str, step_timeout: str
) -> WorkflowHandle[Any, Any]:
    plan = compile_text(
        DEFINITION.format(timeout=step_timeout), file="ticket.yaml", catalogue=default_catalogue()
    )
    return await env.client.start_workflow(
        InterpreterWorkflow.run,
        InterpretInput(plan=plan, trigger={"incident_io": {}}, set_search_attributes=False),
        id=f"ticket-{uuid.uuid4().hex}",
        task_queue=queue,
    )


async def heartbeat_of(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> Any:
    for pending in (await handle.describe()).raw_description.pending_activities:
        if pending.heartbeat_details.payloads:
            [details] = await env.client.data_converter.decode(pending.heartbeat_details.payloads)
            return details
    return None


async def test_the_waiting_step_says_until_when(
    dev_env: WorkflowEnvironment, task_queue: str, http: httpx.AsyncClient
) -> None:
    state = LinearState(rate_limit=RateLimit(window_seconds=600))
    state.set_faults(Faults(ratelimited=1))
    released = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await released.wait()  # the test decides when the reset "has come"

    async with serve(create_app(state)) as url:
        acts = activities(http, url, sleep)
        async with Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=[InterpreterWorkflow],
            activities=acts.all(),
        ):
            handle = await start(dev_env, task_queue, "15m")
            details = await eventually(lambda: heartbeat_of(dev_env, handle))
            assert STATE.match(details["state"]), details
            released.set()
            result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result.status == "completed"
    assert [i.identifier for i in state.issues] == ["ENG-1"]


async def test_a_reset_after_the_step_timeout_fails_the_step_at_once(
    dev_env: WorkflowEnvironment, task_queue: str, http: httpx.AsyncClient
) -> None:
    state = LinearState()  # an hour-long window: the reset is ~51 minutes out, or more
    state.set_faults(Faults(ratelimited=1))

    async def sleep(seconds: float) -> None:
        raise AssertionError("the step must not wait past its timeout")

    async with serve(create_app(state)) as url:
        acts = activities(http, url, sleep)
        async with Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=[InterpreterWorkflow],
            activities=acts.all(),
        ):
            handle = await start(dev_env, task_queue, "1m")
            with pytest.raises(WorkflowFailureError) as failed:
                await asyncio.wait_for(handle.result(), timeout=60)
            result = await handle.query(InterpreterWorkflow.state)
    assert "rate-limited by Linear until" in str(failed.value.cause)
    [step] = result.steps
    assert step.status == "failed" and step.error is not None
    assert step.error.startswith("step 'ticket' (linear.issue.create) failed: RateLimitedError: ")
    assert "rate-limited by Linear until" in step.error
    assert "after this step's timeout ends at" in step.error
    assert state.issues == [] and state.requests == 1  # the limited team look-up, no retry
