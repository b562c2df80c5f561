"""Starting and stopping each workspace's incident.io sync, and loading the definitions folder."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from contracts.ids import sync_workflow_id
from contracts.sync import SyncInput
from settings import Settings
from store import DEFAULT_WORKSPACE, Store
from workflows.sync import WorkspaceSyncWorkflow

log = logging.getLogger(__name__)


async def start_sync(
    temporal: Client, settings: Settings, workspace: str, *, connected_at: str | None
) -> dict[str, Any]:
    """Starts the workspace's sync (or wakes the running one) and says so."""
    handle = await temporal.start_workflow(
        WorkspaceSyncWorkflow.run,
        SyncInput(
            workspace=workspace,
            interval=settings.sync_interval,
            connected_at=connected_at,
            incident_io_task_queue=settings.incident_io_task_queue,
        ),
        id=sync_workflow_id(workspace),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await handle.signal(WorkspaceSyncWorkflow.poll_now)
    return {
        "status": "running",
        "workflow_id": handle.id,
        "interval_seconds": settings.sync_interval,
    }


async def stop_sync(temporal: Client, workspace: str) -> None:
    """Cancels the workspace's sync; nothing to do when none runs."""
    handle = temporal.get_workflow_handle(sync_workflow_id(workspace))
    try:
        description = await handle.describe()
    except RPCError:
        return
    if description.status == WorkflowExecutionStatus.RUNNING:
        await handle.terminate(reason="incident.io disconnected")


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
