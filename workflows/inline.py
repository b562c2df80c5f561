"""Runs the incident's workflow runs itself: plans with no step that waits (decision 0003).

Each inline run is an ``asyncio`` task of ``IncidentWorkflow``, so hints keep flowing while
it runs. It walks its plan with the same ``runner.PlanRun`` as a child run; its writes are
reported to the incident's own-write records directly (no signal), and its failure is its
own: it ends in the run's ``RunResult``, never in the incident workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.events import IncidentEvent
    from contracts.incident import OwnWrite
    from contracts.messages import AgentUpdate
    from contracts.runs import InterpretInput, RunResult

from workflows.approval_step import ApprovalBook
from workflows.runner import PlanRun, RunIdentity, StepFailedError


class InlineHost:
    """The ``StepHost`` of an inline run: no signal ever reaches it, writes are told in-process."""

    def __init__(self, params: InterpretInput, tell: Callable[[OwnWrite], None]) -> None:
        self._params = params
        self._tell = tell
        self._book = ApprovalBook()

    @property
    def approval_book(self) -> ApprovalBook:
        return self._book

    @property
    def agent_pushes(self) -> dict[str, AgentUpdate]:
        return {}

    @property
    def events(self) -> list[IncidentEvent]:
        return []

    @property
    def event_seq(self) -> int:
        return self._params.event_seq

    @property
    def incident_io_task_queue(self) -> str:
        return self._params.incident_io_task_queue

    def reports_own_writes_to(self, incident: str) -> bool:
        params = self._params
        reference = params.trigger.get("incident_io", {}).get("reference")
        return params.incident_id is not None and incident.strip() in {
            params.incident_id,
            reference,
        }

    async def tell_incident(self, report: OwnWrite) -> None:
        self._tell(report)


class InlineRuns:
    """The inline runs of one incident workflow run, while they execute."""

    def __init__(self, tell: Callable[[OwnWrite], None]) -> None:
        self._tell = tell
        self._running: dict[str, PlanRun] = {}

    def start(
        self, params: InterpretInput, *, run_id: str, done: Callable[[RunResult], None]
    ) -> None:
        """Starts ``params`` as the inline run ``run_id``; ``done`` gets its final result."""
        info = workflow.info()
        identity = RunIdentity(
            workflow_id=run_id,
            run_id=info.run_id,
            started_at=workflow.now(),
            summary_prefix=f"{params.plan.name}: ",
        )
        run = PlanRun(params, InlineHost(params, self._tell), identity)
        self._running[run_id] = run
        asyncio.create_task(self._execute(run_id, run, done))  # noqa: RUF006 (kept in _running)

    def state(self, run_id: str) -> RunResult | None:
        """A running inline run's steps so far (None once it has ended, or if unknown)."""
        run = self._running.get(run_id)
        return run.state() if run is not None else None

    def busy(self) -> bool:
        return bool(self._running)

    async def settle(self) -> None:
        """Waits until every inline run has ended (before continue-as-new or the end)."""
        await workflow.wait_condition(lambda: not self._running)

    async def _execute(self, run_id: str, run: PlanRun, done: Callable[[RunResult], None]) -> None:
        try:
            await run.execute()
        except StepFailedError:
            pass  # the run's own failure: its result says which step and why
        except Exception as exc:  # a fault of the walk itself still ends only this run
            run.status, run.error = "failed", f"the run stopped: {type(exc).__name__}: {exc}"
            workflow.logger.error("inline run %s stopped: %s", run_id, run.error)
        done(run.state())
        del self._running[run_id]
