"""Fixtures: the incident.io simulator over real HTTP and the node activities bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from temporalio.testing import ActivityEnvironment

from activities.credentials import ChainedCredentials, StaticCredentials
from activities.incident_io.budget import CatalogueCache
from activities.incident_io.nodes import IncidentIoActivities
from interpreter.plan import NodeCall, NodeContext
from simulators.incident_io import SANDBOX_TOKEN, VIEWER_TOKEN, SimulatorState, create_app
from simulators.server import serve

CREDENTIALS = ChainedCredentials(
    [
        StaticCredentials(
            {
                ("default", "incident_io", "token"): SANDBOX_TOKEN,
                ("viewer", "incident_io", "token"): VIEWER_TOKEN,
            }
        )
    ]
)


def call(
    inputs: dict[str, Any],
    *,
    step: str = "step",
    workflow: str = "wf-1",
    workspace: str = "default",
) -> NodeCall:
    return NodeCall(
        context=NodeContext(
            workspace=workspace,
            workflow_id=workflow,
            run_id="run-1",
            step_id=step,
            definition="test",
        ),
        inputs=inputs,
    )


@dataclass
class Env:
    state: SimulatorState
    url: str
    http: httpx.AsyncClient
    nodes: IncidentIoActivities

    async def run(self, node: Callable[..., Any], inputs: dict[str, Any], **kw: Any) -> Any:
        return await ActivityEnvironment().run(node, call(inputs, **kw))

    def requests(self, path: str, method: str = "GET") -> int:
        return sum(1 for r in self.state.requests if r.path == path and r.method == method)


def activities_for(url: str, http: httpx.AsyncClient, **kw: Any) -> IncidentIoActivities:
    return IncidentIoActivities(
        CREDENTIALS, http, lambda _: url, cache=kw.pop("cache", CatalogueCache()), **kw
    )


@pytest_asyncio.fixture
async def env() -> AsyncIterator[Env]:
    state = SimulatorState()
    async with serve(create_app(state)) as url, httpx.AsyncClient(timeout=5.0) as http:
        yield Env(state, url, http, activities_for(url, http))
