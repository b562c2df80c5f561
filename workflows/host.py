"""The small typed interface a step handler gets of the run it belongs to.

A step handler (``agent_step``, ``approval_step``, ``wait_step``, and the action steps of
``runner.PlanRun``) needs a handful of things from its run: what signals and updates
brought it, which event started it, and how to tell the incident's workflow about a write.
``StepHost`` names exactly those, so a handler never reaches into a workflow object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from contracts.events import IncidentEvent
    from contracts.incident import OwnWrite
    from contracts.messages import AgentUpdate
    from workflows.approval_step import ApprovalBook


class StepHost(Protocol):
    """What a step handler may use of its run, wherever the run executes."""

    @property
    def approval_book(self) -> ApprovalBook:
        """Approval steps reached so far, and the decisions the ``decide`` update brought."""
        ...

    @property
    def agent_pushes(self) -> dict[str, AgentUpdate]:
        """A2A pushes per step id (the ``agent_update`` signal)."""
        ...

    @property
    def events(self) -> list[IncidentEvent]:
        """Incident events forwarded to this run (the ``incident_event`` signal)."""
        ...

    @property
    def incident_io_task_queue(self) -> str:
        """Where the run's own incident.io calls go (``RENSEI_INCIDENT_IO_TASK_QUEUE``)."""
        ...

    @property
    def event_seq(self) -> int:
        """The sequence number of the incident event that started the run (0: none)."""
        ...

    def reports_own_writes_to(self, incident: str) -> bool:
        """Whether a write to ``incident`` (id or reference) is reported to its workflow."""
        ...

    async def tell_incident(self, report: OwnWrite) -> None:
        """Reports a write to the incident's workflow, so its echo is known as rensei's own."""
        ...
