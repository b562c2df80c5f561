"""Which workspaces sync with incident.io, and keeping their syncs running (started and
stopped through ``temporal_client``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.service import RPCError

from settings import Settings
from store import DEFAULT_WORKSPACE, Store
from temporal_client import start_sync

log = logging.getLogger(__name__)


async def workspaces_to_sync(store: Store, settings: Settings) -> dict[str, str | None]:
    """Connected workspaces (and the default one when RENSEI_INCIDENT_IO_TOKEN is set)."""
    wanted: dict[str, str | None] = {}
    if settings.incident_io_token is not None:
        wanted[DEFAULT_WORKSPACE] = None
    for workspace in await store.list_workspaces():
        integration = await store.get_integration(workspace, "incident_io")
        if integration is not None and integration.status == "connected":
            connected = integration.connected_at.isoformat() if integration.connected_at else None
            wanted[workspace] = connected
    return wanted


async def ensure_syncs(get_temporal: Any, store: Store, settings: Settings) -> None:
    """Keeps trying until every workspace that should sync has its sync running."""
    delay = 1.0
    while True:
        try:
            temporal = await get_temporal()
            for workspace, connected_at in (await workspaces_to_sync(store, settings)).items():
                await start_sync(temporal, settings, workspace, connected_at=connected_at)
                log.info("incident.io sync running for workspace %s", workspace)
            return
        except (RPCError, RuntimeError, OSError) as exc:
            log.warning(
                "cannot start the incident.io syncs yet (%s); retrying in %.0fs", exc, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
