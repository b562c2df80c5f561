"""``rensei run``: one definition, one event, on the stack or in a throw-away sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from interpreter.plan import Plan
from settings import Settings
from simulators.agent import AgentConfig, AgentRecord
from simulators.agent import create_app as agent_app
from simulators.linear import SANDBOX_API_KEY, LinearState
from simulators.linear import create_app as linear_app
from simulators.server import free_port, serve
from simulators.slack import SANDBOX_BOT_TOKEN, SANDBOX_SIGNING_SECRET, SlackState
from simulators.slack import create_app as slack_app
from stack import approvals, devserver
from workflows.interpreter import (
    InterpreterWorkflow,
    InterpretInput,
    RunResult,
    result_of_failure,
    search_attribute_pairs,
)
from workflows.messages import DecideInput, DecisionSource

log = logging.getLogger(__name__)

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
AUTO_APPROVE_POLL_SECONDS = 0.2


class RunnerError(RuntimeError):
    """The run could not be started (Temporal unreachable, no worker, ...)."""


@dataclass
class Simulators:
    """The provider simulators of one sandbox and their state (to inspect after a run)."""

    slack: SlackState
    linear: LinearState
    agent: AgentRecord
    urls: dict[str, str]


@contextlib.asynccontextmanager
async def simulators() -> AsyncIterator[Simulators]:
    """Slack, Linear and the ``incident-responder`` A2A agent, served on 127.0.0.1."""
    slack, linear, agent = SlackState(), LinearState(), AgentRecord()
    agent_port = free_port()
    agent_config = AgentConfig(public_url=f"http://127.0.0.1:{agent_port}", work_seconds=1.0)
    async with (
        serve(slack_app(slack)) as slack_url,
        serve(linear_app(linear)) as linear_url,
        serve(agent_app(agent_config, record=agent), port=agent_port) as agent_url,
    ):
        urls = {"slack": slack_url, "linear": linear_url, "incident-responder": agent_url}
        yield Simulators(slack, linear, agent, urls)


def sandbox_settings(settings: Settings, sims: Simulators) -> Settings:
    """``settings`` with every provider pointed at the simulators and their sandbox keys."""
    return settings.model_copy(
        update={
            "slack_base_url": sims.urls["slack"],
            "slack_bot_token": SecretStr(SANDBOX_BOT_TOKEN),
            "slack_signing_secret": SecretStr(SANDBOX_SIGNING_SECRET),
            "linear_base_url": sims.urls["linear"],
            "linear_api_key": SecretStr(SANDBOX_API_KEY),
            "agents": {**settings.agents, "incident-responder": sims.urls["incident-responder"]},
        }
    )


@contextlib.asynccontextmanager
async def sandbox(settings: Settings) -> AsyncIterator[tuple[Client, str]]:
    """A throw-away dev server, the provider simulators and an in-process worker."""
    import worker

    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with (
        simulators() as sims,
        await devserver.start_local(data_converter=pydantic_data_converter) as env,
    ):
        workers = worker.build_workers(
            env.client, sandbox_settings(settings, sims), task_queue=queue
        )
        async with contextlib.AsyncExitStack() as stack:
            for w in workers:
                await stack.enter_async_context(w)
            yield env.client, queue


async def auto_approve(client: Client, handle: WorkflowHandle[Any, Any], user: str) -> None:
    """Approves every approval step of the run as ``user`` once it is waiting (sandbox only).

    A Slack user id (``U01ALICE``) decides as a Slack click would, so the approver check
    applies; any other name decides as an operator.
    """
    source: DecisionSource = "slack" if USER_ID.match(user) else "cli"
    decided: set[str] = set()
    while True:
        for item in await handle.query(InterpreterWorkflow.approvals):
            if item.status != "waiting" or item.slack_ts is None or item.step_id in decided:
                continue
            decided.add(item.step_id)
            params = DecideInput(step_id=item.step_id, decision="approved", by=user, source=source)
            try:
                await approvals.send(client, handle.id, params)
            except approvals.ApprovalError as exc:
                log.warning("sandbox: could not approve %s as %s: %s", item.step_id, user, exc)
        await asyncio.sleep(AUTO_APPROVE_POLL_SECONDS)


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
    approve_as: str | None = None,
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
        approver = (
            asyncio.create_task(auto_approve(client, handle, approve_as)) if approve_as else None
        )
        try:
            result = await handle.result()
        except WorkflowFailureError as failure:
            result = result_of_failure(failure) or await handle.query(InterpreterWorkflow.state)
        finally:
            if approver is not None:
                approver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await approver
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
