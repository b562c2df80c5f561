"""The polling sync of one workspace: works with no webhook, and catches what webhooks missed.

A timer loop that continues as new: every ``interval`` (30 s by default) it asks incident.io
for the incidents updated since its cursor and hints each one's workflow. A ``poll_now``
signal wakes it early (connect, tests); ``status`` tells the settings page how it is doing.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.errors import REQUEST_ERRORS
    from contracts.ids import INCIDENT_IO_TASK_QUEUE, SYNC_WORKFLOW
    from contracts.incident import PollInput, PollResult

POLLS_PER_RUN = 200


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


class SyncStatus(BaseModel):
    """What the settings page shows of the sync."""

    workspace: str
    cursor: str | None
    polls: int
    last_poll_at: str | None
    last_hinted: int
    last_error: str | None
    interval: float


@workflow.defn(name=SYNC_WORKFLOW)
class WorkspaceSyncWorkflow:
    """Polls incident.io for one workspace until cancelled (disconnect)."""

    def __init__(self) -> None:
        self._wake = False
        self._status: SyncStatus | None = None

    @workflow.signal
    def poll_now(self) -> None:
        """Poll at once instead of at the next interval."""
        self._wake = True

    @workflow.query
    def status(self) -> SyncStatus | None:
        return self._status

    @workflow.run
    async def run(self, params: SyncInput) -> None:
        state = params.model_copy()
        self._status = SyncStatus(
            workspace=state.workspace,
            cursor=state.cursor,
            polls=state.polls,
            last_poll_at=None,
            last_hinted=0,
            last_error=state.last_error,
            interval=state.interval,
        )
        for _ in range(POLLS_PER_RUN):
            await self._poll(state)
            self._wake = False
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._wake, timeout=timedelta(seconds=state.interval)
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(state)

    async def _poll(self, state: SyncInput) -> None:
        assert self._status is not None
        try:
            result: PollResult = await workflow.execute_activity(
                "incident_io.sync.poll",
                PollInput(
                    workspace=state.workspace,
                    cursor=state.cursor,
                    connected_at=state.connected_at,
                    seen=state.seen,
                ),
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(
                    maximum_attempts=3,
                    maximum_interval=timedelta(seconds=30),
                    non_retryable_error_types=list(REQUEST_ERRORS),
                ),
                result_type=PollResult,
                task_queue=INCIDENT_IO_TASK_QUEUE,
                summary="poll incident.io",
            )
        except ActivityError as exc:
            state.last_error = str(exc.cause or exc)
            workflow.logger.warning("sync of %s failed: %s", state.workspace, state.last_error)
        else:
            state.cursor = result.cursor
            state.seen = result.seen
            state.last_error = None
            self._status.last_hinted = result.hinted
        state.polls += 1
        self._status.cursor = state.cursor
        self._status.polls = state.polls
        self._status.last_error = state.last_error
        self._status.last_poll_at = workflow.now().isoformat()
