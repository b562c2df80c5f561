"""``rensei run --sandbox``: a throw-away Temporal, every provider simulator and a worker.

Everything runs in this process on 127.0.0.1: the dev server (in memory), the incident.io
simulator seeded with the event's incident, Slack, Linear and the ``incident-responder``
A2A agent, a SQLite store in a temporary folder, and the workers. The incident's workflow
is started too, so ``incident_io.incident.wait_for`` steps work: when a run waits for the
incident's resolution, the sandbox resolves it as a person would.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts.ids import incident_workflow_id
from contracts.incident import Hint, IncidentWorkflowInput
from settings import Settings
from simulators.agent import AgentConfig, AgentRecord
from simulators.agent import create_app as agent_app
from simulators.incident_io import SANDBOX_TOKEN, SimulatorState
from simulators.incident_io import create_app as incident_io_app
from simulators.incident_io.seed import STATUS_DOCUMENTING
from simulators.linear import SANDBOX_API_KEY, LinearState
from simulators.linear import create_app as linear_app
from simulators.server import free_port, serve
from simulators.slack import SANDBOX_BOT_TOKEN, SANDBOX_SIGNING_SECRET, SlackState
from simulators.slack import create_app as slack_app
from stack import devserver
from stack.sandbox_seed import seed_from_trigger, seed_sandbox_workspace
from store import Store
from workflows.incident import IncidentWorkflow


@dataclass
class Simulators:
    """The provider simulators of one sandbox and their state (to inspect after a run)."""

    incident_io: SimulatorState
    slack: SlackState
    linear: LinearState
    agent: AgentRecord
    urls: dict[str, str]


@dataclass
class Sandbox:
    """What a sandboxed run needs: the client, the queue, and the rewritten trigger."""

    client: Client
    task_queue: str
    trigger: dict[str, Any]
    sims: Simulators
    incident_workflow_id: str | None

    async def resolve_incident(self) -> None:
        """Moves the run's incident to post-incident, as a person would, and says so."""
        incident_id = self.trigger.get("incident_io", {}).get("incident_id")
        if not incident_id or self.incident_workflow_id is None:
            return
        url = self.sims.urls["incident-io"]
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            response = await http.post(
                f"/_sim/incidents/{incident_id}/status",
                json={
                    "incident_status_id": STATUS_DOCUMENTING,
                    "message": "Resolved in the sandbox",
                },
            )
            response.raise_for_status()
        handle = self.client.get_workflow_handle(self.incident_workflow_id)
        await handle.signal(IncidentWorkflow.hint, Hint(source="sandbox"))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
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
async def simulators(
    incident_io: SimulatorState | None = None,
    *,
    ports: Mapping[str, int] | None = None,
    slack: SlackState | None = None,
    linear: LinearState | None = None,
    channels: Sequence[str] = (),
    teams: Sequence[str] = (),
) -> AsyncIterator[Simulators]:
    """incident.io, Slack, Linear and the ``incident-responder`` A2A agent on 127.0.0.1.

    ``ports`` fixes the port of each (keys as in ``Simulators.urls``); free ports otherwise.
    ``channels`` and ``teams`` are added to the sandbox workspace's own.
    """
    state = incident_io or SimulatorState()
    slack, linear, agent = slack or SlackState(), linear or LinearState(), AgentRecord()
    seed_sandbox_workspace(state, slack, channels=channels, teams=teams)
    chosen = dict(ports or {})
    agent_port = chosen.get("incident-responder") or free_port()
    agent_config = AgentConfig(public_url=f"http://127.0.0.1:{agent_port}", work_seconds=1.0)
    async with (
        serve(incident_io_app(state), port=chosen.get("incident-io")) as incident_io_url,
        serve(slack_app(slack), port=chosen.get("slack")) as slack_url,
        serve(linear_app(linear), port=chosen.get("linear")) as linear_url,
        serve(agent_app(agent_config, record=agent), port=agent_port) as agent_url,
    ):
        urls = {
            "incident-io": incident_io_url,
            "slack": slack_url,
            "linear": linear_url,
            "incident-responder": agent_url,
        }
        yield Simulators(state, slack, linear, agent, urls)
        await state.webhooks.aclose()


def sandbox_settings(settings: Settings, sims: Simulators, data_dir: Path) -> Settings:
    """``settings`` with every provider pointed at the simulators and their sandbox keys."""
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": None,
            "sandbox": True,  # http.request may call 127.0.0.1
            "incident_io_base_url": sims.urls["incident-io"],
            "incident_io_token": SecretStr(SANDBOX_TOKEN),
            "slack_base_url": sims.urls["slack"],
            "slack_bot_token": SecretStr(SANDBOX_BOT_TOKEN),
            "slack_signing_secret": SecretStr(SANDBOX_SIGNING_SECRET),
            "linear_base_url": sims.urls["linear"],
            "linear_api_key": SecretStr(SANDBOX_API_KEY),
            "agents": {**settings.agents, "incident-responder": sims.urls["incident-responder"]},
        }
    )


@contextlib.asynccontextmanager
async def sandbox(settings: Settings, trigger: dict[str, Any]) -> AsyncIterator[Sandbox]:
    """Starts everything; the trigger's incident is created in the simulator first."""
    import worker

    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    state = SimulatorState()
    seeded = seed_from_trigger(state, trigger)
    with stdout_to_stderr():  # the dev server prints a banner; stdout is the run's JSON
        server = await devserver.start_local(data_converter=pydantic_data_converter)
    with tempfile.TemporaryDirectory(prefix="rensei-sandbox-") as data:
        async with (
            server as env,
            simulators(
                state, channels=settings.sandbox_channels, teams=settings.sandbox_teams
            ) as sims,
            worker.http_client() as http,
        ):
            local = sandbox_settings(settings, sims, Path(data)).model_copy(
                update={"task_queue": queue}
            )
            store = Store.from_settings(local)
            await store.migrate()
            workers = worker.build_workers(
                env.client, local, task_queue=queue, store=store, http=http
            )
            async with contextlib.AsyncExitStack() as running:
                for w in workers:
                    await running.enter_async_context(w)
                followed = await _follow(env.client, queue, seeded)
                yield Sandbox(env.client, queue, seeded, sims, followed)
            await store.close()


async def _follow(client: Client, queue: str, trigger: dict[str, Any]) -> str | None:
    """Starts the incident's workflow (a baseline: the run itself is the reaction)."""
    incident_id = trigger.get("incident_io", {}).get("incident_id")
    if not incident_id:
        return None
    workflow_id = incident_workflow_id("default", incident_id)
    await client.start_workflow(
        IncidentWorkflow.run,
        IncidentWorkflowInput(
            workspace="default", incident_id=incident_id, announce_creation=False
        ),
        id=workflow_id,
        task_queue=queue,
        start_signal="hint",
        start_signal_args=[Hint(source="sandbox")],
    )
    return workflow_id
