"""The FastAPI app factory: error envelope, fault injection, request recording, routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response

from simulators.incident_io import routes, sim_routes
from simulators.incident_io.auth import bearer, state_of
from simulators.incident_io.errors import install_error_handlers
from simulators.incident_io.state import RequestRecord, SimulatorConfig, SimulatorState


async def _public_api_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Applies faults and records every public API request; `/_sim` passes straight through."""
    if request.url.path.startswith("/_sim"):
        return await call_next(request)
    state = state_of(request)
    token = bearer(request)
    key = state.key_for_token(token) if token else None
    if state.faults.latency_ms:
        await asyncio.sleep(state.faults.latency_ms / 1000)
    fault = state.faults.next_fault(key.name if key else "")
    response = fault.response() if fault else await call_next(request)
    headers: dict[str, str] = getattr(request.state, "rate_headers", {})
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    state.requests.append(
        RequestRecord(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            key_name=key.name if key else None,
            status=response.status_code,
        )
    )
    return response


def create_app(
    state: SimulatorState | None = None, *, config: SimulatorConfig | None = None
) -> FastAPI:
    """Builds the incident.io simulator; pass `state` to seed and inspect it from tests."""
    if state is not None and config is not None:
        raise TypeError("pass config to SimulatorState(config) when you also pass a state")
    sim = state or SimulatorState(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sim.webhooks.aclose()

    app = FastAPI(title="incident.io simulator", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.sim = sim
    install_error_handlers(app)
    app.middleware("http")(_public_api_middleware)
    app.include_router(routes.router)
    app.include_router(sim_routes.router)
    return app
