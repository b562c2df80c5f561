"""``rensei run``: one definition, one event, on the stack or in a throw-away sandbox."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import SecretStr
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


Opened = tuple[Client, str, dict[str, Any]]


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Child processes started inside the block inherit stderr as their stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.asynccontextmanager
async def sandbox(
    settings: Settings, trigger: dict[str, Any] | None = None
) -> AsyncIterator[Opened]:
    """A throw-away dev server, incident.io simulator and in-process worker.

    The trigger's incident is created in the simulator first; yields the client, the task
    queue and the trigger rewritten to the simulator's incident id.
    """
    import httpx

    import worker
    from simulators.incident_io import SANDBOX_TOKEN, SimulatorState, create_app
    from simulators.server import serve
    from stack.sandbox_seed import seed_from_trigger

    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    state = SimulatorState()
    seeded = seed_from_trigger(state, trigger or {})
    with _stdout_to_stderr():  # the dev server prints a banner; stdout is the run's JSON
        server = await devserver.start_local(data_converter=pydantic_data_converter)
    async with (
        server as env,
        serve(create_app(state)) as sim_url,
        httpx.AsyncClient(timeout=settings.incident_io_timeout) as http,
    ):
        local = settings.model_copy(
            update={"incident_io_base_url": sim_url, "incident_io_token": SecretStr(SANDBOX_TOKEN)}
        )
        nodes = worker.incident_io_activities(local, http=http)
        workers = worker.build_workers(env.client, local, task_queue=queue, incident_io=nodes)
        async with contextlib.AsyncExitStack() as stack:
            for w in workers:
                await stack.enter_async_context(w)
            yield env.client, queue, seeded


@contextlib.asynccontextmanager
async def existing(
    settings: Settings, trigger: dict[str, Any] | None = None
) -> AsyncIterator[Opened]:
    """The configured Temporal, whose workers are run by ``make run``."""
    import worker

    try:
        client = await worker.connect(settings)
    except (RuntimeError, RPCError) as exc:
        raise RunnerError(
            f"cannot reach Temporal at {settings.address} ({exc}); start the stack with "
            "'make run', or pass --sandbox"
        ) from None
    yield client, settings.task_queue, trigger or {}


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
    async with opener(settings, trigger) as (client, queue, trigger):
        incident_id = trigger.get("incident_io", {}).get("incident_id")
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
