"""What the routes share: the store, an HTTP client, the integration hooks, the settings."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import HTTPException, Query, Request

from settings import Settings
from store import DEFAULT_WORKSPACE, Store

log = logging.getLogger(__name__)

ConnectHook = Callable[[str], Awaitable[Mapping[str, Any] | None]]
DisconnectHook = Callable[[str], Awaitable[None]]


async def no_connect_hook(workspace: str) -> Mapping[str, Any] | None:
    return None


async def no_disconnect_hook(workspace: str) -> None:
    return None


@dataclass
class Services:
    """Built once by ``create_app``; owned resources are opened and closed by its lifespan."""

    settings: Settings
    store: Store
    http: httpx.AsyncClient
    on_connect: ConnectHook
    on_disconnect: DisconnectHook
    owns_store: bool
    owns_http: bool

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        store: Store | None,
        http_client: httpx.AsyncClient | None,
        on_connect: ConnectHook | None,
        on_disconnect: DisconnectHook | None,
    ) -> Services:
        return cls(
            settings=settings,
            store=store or Store.from_settings(settings),
            http=http_client or httpx.AsyncClient(timeout=httpx.Timeout(10.0)),
            on_connect=on_connect or no_connect_hook,
            on_disconnect=on_disconnect or no_disconnect_hook,
            owns_store=store is None,
            owns_http=http_client is None,
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Migrates an owned store at start; closes what it owns at shutdown."""
        if self.owns_store:
            await self.store.migrate()
        try:
            yield
        finally:
            if self.owns_http:
                await self.http.aclose()
            if self.owns_store:
                await self.store.close()


async def services(request: Request) -> Services:
    """The app's services; async, so FastAPI calls it on the event loop, not in a thread."""
    found: Services = request.app.state.services
    return found


async def workspace_id(workspace: str = Query(DEFAULT_WORKSPACE, max_length=64)) -> str:
    """The workspace a request acts on (``?workspace=``, ``default`` when absent)."""
    if (
        not workspace
        or not all(c.isalnum() or c == "-" for c in workspace)
        or workspace != workspace.lower()
    ):
        raise HTTPException(
            400, detail=f"workspace {workspace!r} is not valid (lowercase letters, digits, '-')"
        )
    return workspace
