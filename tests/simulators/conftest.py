"""Fixtures for the simulator tests: a running incident.io simulator and a webhook receiver."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState, create_app
from simulators.server import serve

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Sim:
    state: SimulatorState
    url: str
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def running_sim(config: SimulatorConfig | None = None) -> AsyncIterator[Sim]:
    state = SimulatorState(config or SimulatorConfig(schedule_scale=0.001))
    async with (
        serve(create_app(state)) as url,
        httpx.AsyncClient(base_url=url, headers=bearer(SANDBOX_TOKEN)) as client,
    ):
        yield Sim(state, url, client)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_sim() as running:
        yield running


@dataclass
class Receiver:
    """A webhook endpoint that records every POST and answers with queued statuses."""

    url: str = ""
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        self.arrivals.append(time.monotonic())
        self.calls.append((dict(request.headers), await request.body()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = Starlette(routes=[Route("/hook", recv.hook, methods=["POST"])])
    async with serve(app) as url:
        recv.url = f"{url}/hook"
        yield recv
