"""Deterministic workflow ids: how the API, the sync and runs find each other."""

from __future__ import annotations

INCIDENT_IO_TASK_QUEUE = "rensei-incident-io"
"""Every incident.io call runs here, so one server-side rate limit covers all workers."""


INCIDENT_WORKFLOW = "IncidentWorkflow"
"""The registered name of the per-incident workflow: its starters name it, not its class."""
INTERPRETER_WORKFLOW = "InterpreterWorkflow"
"""The registered name of one definition run."""
SYNC_WORKFLOW = "WorkspaceSyncWorkflow"
"""The registered name of a workspace's incident.io polling sync."""


def incident_workflow_id(workspace: str, incident_id: str) -> str:
    """The id of an incident's workflow: one per workspace and incident."""
    return f"incident-{workspace}-{incident_id}"


def sync_workflow_id(workspace: str) -> str:
    """The id of a workspace's incident.io sync."""
    return f"sync-incident-io-{workspace}"
