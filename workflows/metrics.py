"""Metrics recorded from workflow code, through the SDK's replay-safe workflow meter.

``workflow.metric_meter()`` records nothing while a history is replayed, so a count is made
once per real event even when a worker restarts or a run moves between workers. The
series are served by the Temporal runtime's Prometheus endpoint (the worker's metrics port
shows them with rensei's other series). Names are fixed here, once, for the dashboard.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

RUNS_STARTED = "rensei_runs_started"
RUNS_COMPLETED = "rensei_runs_completed"
RUNS_FAILED = "rensei_runs_failed"
STEP_FAILURES = "rensei_step_failures"
APPROVALS_REQUESTED = "rensei_approvals_requested"
APPROVALS_RESOLVED = "rensei_approvals_resolved"
WEBHOOKS_DEDUPLICATED = "rensei_webhooks_deduplicated"
LOOP_BREAKER_TRIPS = "rensei_loop_breaker_trips"

NAMES = (
    RUNS_STARTED,
    RUNS_COMPLETED,
    RUNS_FAILED,
    STEP_FAILURES,
    APPROVALS_REQUESTED,
    APPROVALS_RESOLVED,
    WEBHOOKS_DEDUPLICATED,
    LOOP_BREAKER_TRIPS,
)


def count(name: str, amount: int = 1, **labels: str) -> None:
    """Adds ``amount`` to the counter ``name`` with ``labels`` (no-op during replay)."""
    if amount <= 0:
        return
    meter = workflow.metric_meter().with_additional_attributes(labels)
    meter.create_counter(name).add(amount)


def run_started(definition: str) -> None:
    count(RUNS_STARTED, definition=definition)


def run_finished(definition: str, *, failed: bool) -> None:
    count(RUNS_FAILED if failed else RUNS_COMPLETED, definition=definition)


def step_failed(definition: str, *, node: str, error_kind: str) -> None:
    count(STEP_FAILURES, definition=definition, node=node, error_kind=error_kind)


def approval_requested(definition: str) -> None:
    count(APPROVALS_REQUESTED, definition=definition)


def approval_resolved(definition: str, *, outcome: str) -> None:
    count(APPROVALS_RESOLVED, definition=definition, outcome=outcome)


def webhooks_deduplicated(amount: int) -> None:
    count(WEBHOOKS_DEDUPLICATED, amount, source="incident_io")


def loop_breaker_tripped(definition: str) -> None:
    """The loop breaker refused to start ``definition`` for an incident (once per refusal)."""
    count(LOOP_BREAKER_TRIPS, definition=definition)


def error_kind(exc: BaseException) -> str:
    """What kind of failure ended a step: the innermost ``ApplicationError`` type
    (``RateLimitedError``, ``StepFailed``), else the failure's class (``TimeoutError``)."""
    current: BaseException = exc
    while isinstance(current, FailureError) and current.cause is not None:
        current = current.cause
    if isinstance(current, ApplicationError) and current.type:
        return current.type
    return type(current).__name__
