"""Models of a workspace's incident.io sync: its input (carried across continue-as-new) and
the status its query reports."""

from __future__ import annotations

from pydantic import BaseModel

from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE


class SyncInput(BaseModel):
    """Start input, also carried across continue-as-new."""

    workspace: str
    interval: float = 30.0
    cursor: str | None = None
    connected_at: str | None = None
    polls: int = 0
    last_error: str | None = None
    seen: list[str] = []
    """What the last poll hinted inside the overlap window (not hinted again unchanged)."""
    incident_io_task_queue: str = DEFAULT_INCIDENT_IO_TASK_QUEUE
    """Where the poll runs (``RENSEI_INCIDENT_IO_TASK_QUEUE``)."""


class SyncStatus(BaseModel):
    """What the settings page shows of the sync."""

    workspace: str
    cursor: str | None
    polls: int
    last_poll_at: str | None
    last_hinted: int
    last_error: str | None
    interval: float
