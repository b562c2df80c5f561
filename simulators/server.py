"""Serve an ASGI app on 127.0.0.1 inside the current event loop (tests, sandbox mode)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(
    app: Any, *, port: int | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[str]:
    """Runs ``app`` with uvicorn until the block exits; yields its base URL.

    Args:
        app: any ASGI application.
        port: a fixed port, or None for a free one.
        host: the interface to bind (loopback by default).
    """
    chosen = port or free_port()
    config = uvicorn.Config(app, host=host, port=chosen, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    # Embedded servers leave Ctrl-C to their host process (uvicorn would take SIGINT over).
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"server on {host}:{chosen} stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://{host}:{chosen}"
    finally:
        server.should_exit = True
        await task
