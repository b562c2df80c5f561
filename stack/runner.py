"""``rensei run``: one definition, one event, on the stack or in a throw-away sandbox."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from interpreter.plan import Plan
from settings import Settings
from stack import devserver
from workflows.interpreter import (
    InterpreterWorkflow,
    InterpretInput,
    RunResult,
    result_of_failure,
    search_attribute_pairs,
)


class RunnerError(RuntimeError):
    """The run could not be started (Temporal unreachable, no worker, ...)."""


@contextlib.asynccontextmanager
async def sandbox(settings: Settings) -> AsyncIterator[tuple[Client, str]]:
    """A throw-away dev server and an in-process worker; yields the client and task queue."""
    import worker

    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with await devserver.start_local(data_converter=pydantic_data_converter) as env:
        workers = worker.build_workers(env.client, settings, task_queue=queue)
        async with contextlib.AsyncExitStack() as stack:
            for w in workers:
                await stack.enter_async_context(w)
            yield env.client, queue


@contextlib.asynccontextmanager
async def existing(settings: Settings) -> AsyncIterator[tuple[Client, str]]:
    """The configured Temporal, whose workers are run by ``make run``."""
    import worker

    try:
        client = await worker.connect(settings)
    except (RuntimeError, RPCError) as exc:
        raise RunnerError(
            f"cannot reach Temporal at {settings.address} ({exc}); start the stack with "
            "'make run', or pass --sandbox"
        ) from None
    yield client, settings.task_queue


async def run_once(
    plan: Plan,
    trigger: dict[str, Any],
    *,
    settings: Settings,
    sandbox: bool,
    workspace: str = "default",
) -> dict[str, Any]:
    """Runs ``plan`` for ``trigger`` and returns ``{status, error, steps}``."""
    opener = globals()["sandbox"] if sandbox else existing
    incident_id = trigger.get("incident_io", {}).get("incident_id")
    async with opener(settings) as (client, queue):
        params = InterpretInput(
            plan=plan, trigger=trigger, workspace=workspace, incident_id=incident_id
        )
        handle = await client.start_workflow(
            InterpreterWorkflow.run,
            params,
            id=f"run-{plan.name}-{uuid.uuid4().hex[:12]}",
            task_queue=queue,
            search_attributes=TypedSearchAttributes(search_attribute_pairs(params)),
        )
        try:
            result = await handle.result()
        except WorkflowFailureError as failure:
            result = result_of_failure(failure) or await handle.query(InterpreterWorkflow.state)
    return _report(result)


def _report(result: RunResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "error": result.error,
        "steps": [
            {"id": s.id, "type": s.type, "status": s.status, "output": s.output}
            | ({"error": s.error} if s.error else {})
            for s in result.steps
        ],
    }
