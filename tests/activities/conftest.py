"""Shared pieces of the provider activity tests: node calls, an HTTP client, an activity env."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import ActivityEnvironment

from interpreter.plan import NodeCall, NodeContext


def node_call(inputs: dict[str, Any], *, step_id: str = "notify", run: str = "wf-1") -> NodeCall:
    """A NodeCall as the interpreter builds it; the idempotency key is ``<run>/<step_id>``."""
    context = NodeContext(
        workspace="default",
        workflow_id=run,
        run_id=f"{run}-run",
        step_id=step_id,
        definition="test",
        incident_id="01INC",
    )
    return NodeCall(context=context, inputs=inputs)


def attempt(env: ActivityEnvironment, number: int) -> ActivityEnvironment:
    """Makes the next ``env.run`` look like retry ``number`` of the same activity."""
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


@pytest.fixture
def env() -> ActivityEnvironment:
    return ActivityEnvironment()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client
