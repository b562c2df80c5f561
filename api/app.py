"""The HTTP API: an app factory; routes live in their own modules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import InterfaceError, OperationalError
from temporalio.client import Client

import temporal_client
from activities.definitions import load_folder
from api import health, observe
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
from api.sync_control import ensure_syncs
from settings import Settings
from stack.backoff import DATABASE_DOWN, Backoff, migrate_with_backoff, until_up
from store import Store
from store.admin_token import ensure_admin_token
from store.codec import EncryptionCodec
from store.last_event import LastEventWriter

log = logging.getLogger(__name__)


class TemporalHolder:
    """Connects to Temporal lazily, so the API starts (and says why) when Temporal is down."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client

    async def get(self) -> Client:
        if self._client is None:
            try:
                self._client = await temporal_client.connect(self.settings)
            except temporal_client.TemporalConfigError:
                raise  # a wrong setting, not an outage
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
        return await temporal_client.start_sync(
            temporal, settings, workspace, connected_at=connected.isoformat() if connected else None
        )

    async def stop_workspace_sync(workspace: str) -> None:
        await temporal_client.stop_sync(await holder.get(), workspace)

    services = Services.build(
        settings,
        store=store,
        http_client=http_client,
        on_connect=on_connect or start_workspace_sync,
        on_disconnect=on_disconnect or stop_workspace_sync,
    )

    async def load_definitions() -> None:
        for report in await load_folder(services.store, settings.definitions_dir):
            log.info("definitions folder: %s %s (%s)", report.name, report.status, report.file)

    async def when_database_is_up() -> None:
        await migrate_with_backoff(services.store, settings)
        app.state.database_ready = True
        await load_definitions()
        await ensure_syncs(holder.get, services.store, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with services.running(), app.state.last_events.closing():
            if not app.state.database_ready:
                # Migrated before the port opens when the database answers; otherwise the
                # API starts anyway, answers 503 (``/readyz`` says why) and keeps trying.
                with contextlib.suppress(*DATABASE_DOWN):
                    await services.store.migrate()
                    app.state.database_ready = True
            if app.state.database_ready:
                await load_definitions()
                later = ensure_syncs(holder.get, services.store, settings)
            else:
                later = when_database_is_up()
            background = [
                asyncio.create_task(later),
                asyncio.create_task(_connect_in_background(holder, settings)),
            ]
            try:
                yield
            finally:
                for task in background:
                    task.cancel()
                await health.settle(app)

    app = FastAPI(title="rensei", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES)
    install_error_handlers(app)
    app.state.database_ready = not services.owns_store
    app.state.last_events = LastEventWriter(services.store)
    app.add_exception_handler(OperationalError, health.database_unavailable)
    app.add_exception_handler(InterfaceError, health.database_unavailable)
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

    app.include_router(health.router)
    return app


async def _connect_in_background(holder: TemporalHolder, settings: Settings) -> None:
    """Connects as soon as Temporal answers, saying once that it waits and once when connected.

    Requests still try on their own (and answer 503 while Temporal is down); this only makes
    the API ready without waiting for the first request, and logs the state changes.
    """
    try:
        await until_up(
            holder.get,
            what="Temporal",
            where=settings.address,
            transient=temporal_client.TEMPORAL_DOWN,
            permanent=(temporal_client.TemporalConfigError,),
            backoff=Backoff(cap=settings.reconnect_max_interval),
            logger=log,
        )
    except temporal_client.TemporalConfigError as exc:  # /readyz stays 503 and requests say why
        log.error("cannot connect to Temporal at %s: %s", settings.address, exc)
