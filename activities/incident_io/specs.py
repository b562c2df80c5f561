"""Catalogue entries of the ``incident_io.*`` nodes: models, timeouts, retries, task queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from pydantic import BaseModel

from activities.incident_io import schemas as s
from contracts.errors import NON_RETRYABLE_ERRORS
from interpreter.nodes import NodeSpec, RetryDefaults
from interpreter.plan import FieldWrite, IncidentWrite


def _spec(
    name: str,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    description: str,
    *,
    timeout: float = 60.0,
    incident_write: IncidentWrite | None = None,
) -> NodeSpec:
    # The timeout covers in-attempt waits for a short Retry-After (<= 30 s) plus the calls.
    return NodeSpec(
        name=name,
        input_model=input_model,
        output_model=output_model,
        description=description,
        timeout=timedelta(seconds=timeout),
        retry=RetryDefaults(
            maximum_attempts=8,
            initial_interval=timedelta(seconds=1),
            maximum_interval=timedelta(minutes=2),
            non_retryable_error_types=NON_RETRYABLE_ERRORS,
        ),
        incident_write=incident_write,
    )


STATUS_WRITE = IncidentWrite(
    target="incidentId", fields=(FieldWrite(tracked="status", output="incidentStatus"),)
)
"""Acknowledge and resolve: the status they reached, and one incident update."""

UPDATE_WRITE = IncidentWrite(
    target="incidentId",
    fields=(
        FieldWrite(tracked="severity", output="severity", input="severity"),
        FieldWrite(tracked="status", output="status", input="status"),
        FieldWrite(tracked="name", output="title", input="name"),
        FieldWrite(tracked="summary", output="summary", input="summary"),
    ),
    # incident.io records an incident update for a severity or status change only.
    updates=("severity", "status"),
)

TIMELINE_WRITE = IncidentWrite(target="incidentId", entry_output="id", updates=False)
"""A timeline item, known by the id the call returned."""


def incident_io_nodes(task_queue: str) -> dict[str, NodeSpec]:
    """The ``incident_io.*`` nodes, run on ``task_queue`` (``RENSEI_INCIDENT_IO_TASK_QUEUE``):
    a queue of their own, so that one server-side rate limit covers them."""
    return {spec.name: replace(spec, task_queue=task_queue) for spec in _SPECS}


_SPECS = (
    _spec(
        "incident_io.incident.get",
        s.GetIncidentInput,
        s.IncidentOutput,
        "Fetches an incident by id or reference.",
    ),
    _spec(
        "incident_io.incident.list",
        s.ListIncidentsInput,
        s.ListIncidentsOutput,
        "Lists open incidents; filters: status, team, severity, limit.",
        timeout=120.0,
    ),
    _spec(
        "incident_io.incident.acknowledge",
        s.AcknowledgeIncidentInput,
        s.AcknowledgeIncidentOutput,
        "Acknowledges an incident: tries to accept triage into active, posts the message, "
        "acks its triggered pages; reports the real status and any move it could not make.",
        timeout=90.0,
        incident_write=STATUS_WRITE,
    ),
    _spec(
        "incident_io.incident.resolve",
        s.ResolveIncidentInput,
        s.ResolveIncidentOutput,
        "Resolves an incident into post-incident (or closed).",
        incident_write=STATUS_WRITE,
    ),
    _spec(
        "incident_io.incident.update",
        s.UpdateIncidentInput,
        s.IncidentOutput,
        "Changes severity, status, name or summary.",
        incident_write=UPDATE_WRITE,
    ),
    _spec(
        "incident_io.incident.escalate",
        s.EscalateIncidentInput,
        s.EscalateIncidentOutput,
        "Pages an escalation path or users for the incident.",
    ),
    _spec(
        "incident_io.timeline.add_event",
        s.AddTimelineEventInput,
        s.AddTimelineEventOutput,
        "Adds an entry to the incident's timeline.",
        incident_write=TIMELINE_WRITE,
    ),
)
