"""The worker's own ``/healthz`` and ``/readyz``, on ``RENSEI_WORKER_HEALTH_PORT`` (127.0.0.1).

A worker has no HTTP API, yet a container healthcheck needs to know whether it can do its job:
``/readyz`` answers 200 once the store is migrated, Temporal answers and the workers poll, and
503 otherwise; ``/healthz`` always answers 200 with each dependency's state. A plain asyncio
server keeps this tiny: one request line read with a size and a time bound, one answer, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

log = logging.getLogger(__name__)

READ_LIMIT = 8192
READ_SECONDS = 5.0
CHECK_SECONDS = 2.0


@dataclass
class WorkerState:
    """What the worker process has reached so far; set by ``worker.run``."""

    database: bool = False
    client: Client | None = None
    polling: bool = False

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(ready, body) with Temporal checked now."""
        temporal = "connecting"
        if self.client is not None:
            try:
                await asyncio.wait_for(self.client.service_client.check_health(), CHECK_SECONDS)
                temporal = "ok"
            except (TimeoutError, RuntimeError, OSError, RPCError) as exc:
                log.debug("Temporal health check failed: %s", exc)
                temporal = "unreachable"
        database = "ok" if self.database else "connecting"
        ready = self.database and temporal == "ok" and self.polling
        body = {
            "status": "ready" if ready else "not ready",
            "temporal": temporal,
            "database": database,
            "workers": "polling" if self.polling else "starting",
            "pid": os.getpid(),
        }
        return ready, body


async def _answer(
    state: WorkerState, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        line = await asyncio.wait_for(reader.readline(), READ_SECONDS)
        parts = line[:READ_LIMIT].decode("latin-1").split()
        path = parts[1] if len(parts) >= 2 else ""
        if path in ("/healthz", "/readyz"):
            ready, body = await state.report()
            code = 200 if ready or path == "/healthz" else 503
        else:
            code, body = 404, {"error": f"no such path {path[:100]!r}; try /healthz or /readyz"}
        payload = json.dumps(body).encode()
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[code]
        writer.write(
            f"HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
    except (TimeoutError, ConnectionError, ValueError) as exc:
        log.debug("worker health request dropped: %s", exc)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def serving(port: int | None, state: WorkerState) -> AsyncIterator[None]:
    """Serves the health endpoints on 127.0.0.1:``port`` while the block runs (none if None)."""
    if port is None:
        yield
        return
    server = await asyncio.start_server(
        lambda r, w: _answer(state, r, w), "127.0.0.1", port, limit=READ_LIMIT
    )
    log.info("worker health on http://127.0.0.1:%d/readyz", port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()
