"""A definition's run: its start input and its outcome, as workflows, the API and the CLI see it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from interpreter.plan import Plan

StepStatus = Literal["pending", "running", "completed", "failed", "skipped", "not_run"]
"""``skipped``: its branch was not taken; ``not_run``: the run stopped before reaching it."""

STEP_FAILED = "StepFailed"
"""The ``ApplicationError`` type a run fails with when a step failed; its first detail is the
run's ``RunResult`` (the step report), so a client reads it without a query."""


class InterpretInput(BaseModel):
    """Start input of a run (``InterpreterWorkflow``, or inline): the pinned plan and the
    trigger payload."""

    plan: Plan
    trigger: dict[str, Any]
    workspace: str = "default"
    incident_id: str | None = None
    set_search_attributes: bool = True
    incident_workflow_id: str | None = None
    event_seq: int = 0
    incident_io_task_queue: str = DEFAULT_INCIDENT_IO_TASK_QUEUE
    """Where the run's own incident.io calls run (an approval's timeline entry); its plan's
    incident.io steps carry the queue they were compiled with."""


class StepResult(BaseModel):
    """How one step ended."""

    id: str
    type: str
    status: StepStatus
    output: Any = None
    error: str | None = None
    warnings: list[str] = []
    """What the step did other than asked (a ``threadOf`` step that posted nothing, say)."""


class RunResult(BaseModel):
    """The outcome of a run, also served by the ``state`` query while it runs."""

    status: Literal["running", "completed", "failed"]
    error: str | None = None
    steps: list[StepResult]
