"""The HTTP API: an app factory; routes live in their own modules."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from temporalio.client import Client

from settings import Settings

log = logging.getLogger(__name__)


class TemporalHolder:
    """Connects to Temporal lazily, so the API starts (and says why) when Temporal is down."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client

    async def get(self) -> Client:
        if self._client is None:
            import worker

            self._client = await worker.connect(self.settings)
        return self._client


def create_app(settings: Settings | None = None, *, client: Client | None = None) -> FastAPI:
    """Builds the API for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    holder = TemporalHolder(settings, client)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(title="rensei", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.temporal = holder

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness and whether Temporal answers."""
        try:
            client = await holder.get()
            await client.service_client.check_health()
            temporal = "ok"
        except Exception as exc:  # reported, not swallowed
            log.warning("Temporal health check failed: %s", exc)
            temporal = "unreachable"
        return {"status": "ok", "temporal": temporal, "address": settings.address}

    return app
