"""Activity calls made by workflow-run nodes (agents, approvals), with the step's policy."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState

with workflow.unsafe.imports_passed_through():
    from contracts.errors import INVALID_REQUEST, InvalidInputsError, Model, read_inputs
    from interpreter.plan import ActionStep, NodeCall

T = TypeVar("T")


def inputs_of(model: type[Model], call: NodeCall) -> Model:
    """``call``'s inputs as ``model``; a failure no retry can fix when they do not read as it.

    The run reports it as ``step 'id' (node) failed: invalid inputs: ...``, worded as an
    activity words the same problem (``contracts.errors.invalid_inputs``).
    """
    try:
        return read_inputs(model, call.inputs)
    except InvalidInputsError as exc:
        raise ApplicationError(str(exc), type=INVALID_REQUEST, non_retryable=True) from None


def retry_policy(step: ActionStep) -> RetryPolicy | None:
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


# Provider errors say "...; retrying" while Temporal retries them; a final message must not.
_RETRYING = re.compile(r";\s*retrying(?:\s+later)?(?=\s*\(|\s*$)")


class ActivityGaveUpError(ActivityError):
    """An activity call that failed for good, with the attempts made and the time spent."""

    def __init__(self, exc: ActivityError, *, attempts: int | None, seconds: float) -> None:
        super().__init__(
            exc.message,
            scheduled_event_id=exc.scheduled_event_id,
            started_event_id=exc.started_event_id,
            identity=exc.identity,
            activity_type=exc.activity_type,
            activity_id=exc.activity_id,
            retry_state=exc.retry_state,
        )
        self.attempts = attempts
        self.seconds = seconds

    def worth_saying(self) -> bool:
        """False for a first-attempt refusal of unknown count (nothing was retried)."""
        return self.attempts is not None or self.retry_state != RetryState.NON_RETRYABLE_FAILURE

    def summary(self) -> str:
        """``after 5 attempts over 31s`` (the count when it is known)."""
        spent = human_duration(self.seconds)
        if self.attempts is None:
            return f"after {spent}"
        plural = "" if self.attempts == 1 else "s"
        return f"after {self.attempts} attempt{plural} over {spent}"


async def call(
    step: ActionStep,
    name: str,
    arg: Any,
    *,
    result_type: type[T],
    summary: str | None = None,
    task_queue: str | None = None,
) -> T:
    """Runs activity ``name`` for ``step``: its timeout per call, its retries, its queue.

    ``task_queue`` is for a call to another node than the step's own (the approval's
    timeline entry runs where incident.io activities run). A final failure is raised as
    ``ActivityGaveUpError`` (an ``ActivityError``), which knows how many attempts were made
    and for how long.
    """
    started = workflow.now()
    policy = retry_policy(step)
    try:
        result: T = await workflow.execute_activity(
            name,
            arg,
            task_queue=task_queue or step.task_queue or workflow.info().task_queue,
            start_to_close_timeout=timedelta(seconds=step.timeout),
            retry_policy=policy,
            summary=summary or step.id,
            result_type=result_type,
        )
    except ActivityError as exc:
        seconds = (workflow.now() - started).total_seconds()
        raise ActivityGaveUpError(
            exc, attempts=_attempts(exc, policy), seconds=seconds
        ) from exc.cause
    return result


async def call_local(
    step: ActionStep, arg: Any, *, result_type: type[T], summary: str | None = None
) -> T:
    """Runs the step's node as a local activity (a node the catalogue marks ``local``), on
    this worker, with the step's timeout per call and its retries; failures as ``call``."""
    started = workflow.now()
    policy = retry_policy(step)
    try:
        result: T = await workflow.execute_local_activity(
            step.type,
            arg,
            start_to_close_timeout=timedelta(seconds=step.timeout),
            retry_policy=policy,
            summary=summary or step.id,
            result_type=result_type,
        )
    except ActivityError as exc:
        seconds = (workflow.now() - started).total_seconds()
        raise ActivityGaveUpError(
            exc, attempts=_attempts(exc, policy), seconds=seconds
        ) from exc.cause
    return result


def _attempts(exc: ActivityError, policy: RetryPolicy | None) -> int | None:
    if exc.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED and policy is not None:
        return policy.maximum_attempts or None
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.details:
        reported = cause.details[-1]
        if isinstance(reported, dict) and isinstance(reported.get("attempt"), int):
            return int(reported["attempt"])
    return None


def failure_cause(exc: BaseException) -> str:
    """The innermost failure message (the provider's own words), read as final.

    "; retrying" is dropped (nothing retries any more), and when the call gave up after
    retries, the attempts made and the time spent are added.
    """
    current: BaseException = exc
    gave_up = exc if isinstance(exc, ActivityGaveUpError) else None
    while isinstance(current, FailureError) and current.cause is not None:
        current = current.cause
        if gave_up is None and isinstance(current, ActivityGaveUpError):
            gave_up = current
    message = _RETRYING.sub("", str(current)) or type(current).__name__
    if gave_up is None or not gave_up.worth_saying():
        return message
    return f"{message} ({gave_up.summary()})"


def human_duration(seconds: float) -> str:
    """``1800`` -> ``30m``, ``5400`` -> ``1h30m``, ``45`` -> ``45s``."""
    total = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts) or f"{seconds:g}s"
