"""``/healthz`` (liveness, each dependency's state) and ``/readyz`` (200 only when ready).

The API can do its job when its store is migrated and answers, and Temporal answers: only
then does ``/readyz`` say 200 (the container healthchecks use it). Until then, or while a
dependency is down, ``/readyz`` is 503 with ``Retry-After`` and the body says which one.
Each check is bounded in time, so a hung dependency cannot hang the probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

CHECK_SECONDS = 2.0
RETRY_AFTER = "5"


async def temporal_state(request: Request) -> str:
    """``ok`` when the Temporal frontend answers a health check now, else ``unreachable``."""
    try:
        client = await asyncio.wait_for(request.app.state.temporal.get(), CHECK_SECONDS)
        await asyncio.wait_for(client.service_client.check_health(), CHECK_SECONDS)
    except (TimeoutError, RuntimeError, OSError, RPCError) as exc:
        log.debug("Temporal health check failed: %s", exc)
        return "unreachable"
    return "ok"


async def database_state(request: Request) -> str:
    """``ok``, ``migrating`` (not ready yet) or ``unreachable``."""
    if not request.app.state.database_ready:
        return "migrating"
    try:
        await asyncio.wait_for(asyncio.shield(_ping(request)), CHECK_SECONDS)
    except (TimeoutError, OSError, SQLAlchemyError) as exc:
        log.debug("database health check failed: %s", exc)
        return "unreachable"
    return "ok"


def _ping(request: Request) -> asyncio.Task[None]:
    """The store's ping in flight, or a new one. A probe that times out leaves it running
    (shielded): cancelling a connect half-way would leak the connection."""
    task: asyncio.Task[None] | None = getattr(request.app.state, "database_ping", None)
    if task is None or task.done():
        task = asyncio.create_task(request.app.state.services.store.ping())
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        request.app.state.database_ping = task
    return task


async def settle(app: Any) -> None:
    """Waits for a ping still in flight at shutdown, so the store closes every connection."""
    task: asyncio.Task[None] | None = getattr(app.state, "database_ping", None)
    if task is not None and not task.done():
        with contextlib.suppress(TimeoutError, OSError, SQLAlchemyError):
            await asyncio.wait_for(task, CHECK_SECONDS * 5)


async def _states(request: Request) -> dict[str, Any]:
    temporal, database = await asyncio.gather(temporal_state(request), database_state(request))
    return {
        "temporal": temporal,
        "database": database,
        "address": request.app.state.settings.address,
    }


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    """The process is alive (always 200); each dependency's state, checked now."""
    return {"status": "ok"} | await _states(request)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the API can accept events (store and Temporal answer), else 503."""
    states = await _states(request)
    if states["temporal"] == "ok" and states["database"] == "ok":
        return JSONResponse({"status": "ready"} | states)
    return JSONResponse(
        {"status": "not ready"} | states, status_code=503, headers={"Retry-After": RETRY_AFTER}
    )


def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A route's store call failed because the database is down (or not migrated yet)."""
    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    log.error("%s %s: the database is unavailable (%s)", request.method, request.url.path, reason)
    return JSONResponse(
        {"error": "the database is unavailable; nothing was changed, please retry"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER},
    )
