"""Activity calls made by workflow-run nodes (agents, approvals), with the step's policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from interpreter.plan import StepPlan

T = TypeVar("T")


def retry_policy(step: StepPlan) -> RetryPolicy | None:
    """The step's resolved retry policy as Temporal's."""
    retry = step.retry
    if retry is None:
        return None
    return RetryPolicy(
        maximum_attempts=retry.maximum_attempts,
        initial_interval=timedelta(seconds=retry.initial_interval),
        backoff_coefficient=retry.backoff_coefficient,
        maximum_interval=timedelta(seconds=retry.maximum_interval)
        if retry.maximum_interval
        else None,
        non_retryable_error_types=list(retry.non_retryable_error_types),
    )


async def call(
    step: StepPlan,
    name: str,
    arg: Any,
    *,
    result_type: type[T],
    summary: str | None = None,
    task_queue: str | None = None,
) -> T:
    """Runs activity ``name`` for ``step``: its timeout per call, its retries, its queue.

    ``task_queue`` is for a call to another node than the step's own (the approval's
    timeline entry runs where incident.io activities run).
    """
    result: T = await workflow.execute_activity(
        name,
        arg,
        task_queue=task_queue or step.task_queue or workflow.info().task_queue,
        start_to_close_timeout=timedelta(seconds=step.timeout),
        retry_policy=retry_policy(step),
        summary=summary or step.id,
        result_type=result_type,
    )
    return result


def failure_cause(exc: BaseException) -> str:
    """The innermost failure message (the provider's own words)."""
    current: BaseException = exc
    while isinstance(current, FailureError) and current.cause is not None:
        current = current.cause
    return str(current) or type(current).__name__


def human_duration(seconds: float) -> str:
    """``1800`` -> ``30m``, ``5400`` -> ``1h30m``, ``45`` -> ``45s``."""
    total = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or f"{seconds:g}s"
