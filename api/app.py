"""The HTTP API: an app factory; routes live in their own modules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.client import Client

from activities.definitions import load_folder
from api import observe
from api.auth import AdminAuth
from api.deps import ConnectHook, DisconnectHook, Services
from api.responses import ERROR_RESPONSES, TemporalUnavailableError, install_error_handlers
from api.routes import (
    agents,
    approvals,
    codec,
    http,
    incident_io_settings,
    integrations,
    pages,
    webhooks,
    workflows,
)
from api.sync_control import ensure_syncs, start_sync, stop_sync
from settings import Settings
from store import Store
from store.admin_token import ensure_admin_token
from store.codec import EncryptionCodec

log = logging.getLogger(__name__)


class TemporalHolder:
    """Connects to Temporal lazily, so the API starts (and says why) when Temporal is down."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client

    async def get(self) -> Client:
        if self._client is None:
            import worker

            try:
                self._client = await worker.connect(self.settings)
            except RuntimeError as exc:  # the SDK's "Failed client connect"
                raise TemporalUnavailableError(str(exc)) from exc
        return self._client


def create_app(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    store: Store | None = None,
    http_client: httpx.AsyncClient | None = None,
    on_connect: ConnectHook | None = None,
    on_disconnect: DisconnectHook | None = None,
) -> FastAPI:
    """Builds the API for ``settings`` (read from the environment when omitted).

    ``store`` and ``http_client`` are used as given (a given store must be migrated);
    otherwise the app opens, migrates and closes its own. ``on_connect(workspace)`` runs
    after an incident.io key is stored (to start the sync), ``on_disconnect(workspace)``
    before it is deleted.
    """
    settings = settings or Settings()
    holder = TemporalHolder(settings, client)

    async def start_workspace_sync(workspace: str) -> dict[str, Any]:
        integration = await services.store.get_integration(workspace, "incident_io")
        connected = integration.connected_at if integration else None
        temporal = await holder.get()
        return await start_sync(
            temporal, settings, workspace, connected_at=connected.isoformat() if connected else None
        )

    async def stop_workspace_sync(workspace: str) -> None:
        await stop_sync(await holder.get(), workspace)

    services = Services.build(
        settings,
        store=store,
        http_client=http_client,
        on_connect=on_connect or start_workspace_sync,
        on_disconnect=on_disconnect or stop_workspace_sync,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with services.running():
            for report in await load_folder(services.store, settings.definitions_dir):
                log.info("definitions folder: %s %s (%s)", report.name, report.status, report.file)
            syncs = asyncio.create_task(ensure_syncs(holder.get, services.store, settings))
            try:
                yield
            finally:
                syncs.cancel()

    app = FastAPI(title="rensei", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES)
    install_error_handlers(app)
    app.state.settings = settings
    app.state.temporal = holder
    app.state.services = services
    app.state.webhook_secrets = webhooks.SecretCache()
    app.state.admin_auth = AdminAuth(
        ensure_admin_token(settings), secure_cookie=settings.public_url.startswith("https://")
    )
    app.state.codec = EncryptionCodec(services.store.keyring)
    app.include_router(integrations.router)
    app.include_router(incident_io_settings.router)
    app.include_router(agents.router)
    app.include_router(http.router)
    app.include_router(pages.router)
    app.include_router(codec.router)
    app.include_router(webhooks.router)
    app.include_router(workflows.router)
    app.include_router(approvals.router)
    app.include_router(observe.router)
    app.add_middleware(observe.WebhookObserver)

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
