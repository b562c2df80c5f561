"""A worker killed mid-run: the next worker finishes it, posting and filing exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.testing import WorkflowEnvironment

from activities.catalogue import default_catalogue
from contracts.runs import InterpretInput
from interpreter.compiler import compile_text
from simulators.linear import SANDBOX_API_KEY, LinearState
from simulators.linear import create_app as linear_app
from simulators.server import serve
from simulators.slack import SANDBOX_BOT_TOKEN, Faults, SlackState
from simulators.slack import create_app as slack_app
from tests.waiting import eventually
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).parent.parent.parent
DEFINITION = """\
name: crash
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: notify
    type: slack.post
    timeout: 5s
    inputs: {channel: "#incidents", message: "SEV-2: {{ $trigger.incident_io.title }}"}
  - id: ticket
    type: linear.issue.create
    timeout: 5s
    inputs: {team: ENG, title: "{{ $trigger.incident_io.title }}"}
"""


async def start_worker(
    address: str, queue: str, slack: str, linear: str
) -> asyncio.subprocess.Process:
    env = dict(
        os.environ,
        RENSEI_TEMPORAL_ADDRESS=address,
        RENSEI_TASK_QUEUE=queue,
        RENSEI_SLACK_BASE_URL=slack,
        RENSEI_SLACK_BOT_TOKEN=SANDBOX_BOT_TOKEN,
        RENSEI_LINEAR_BASE_URL=linear,
        RENSEI_LINEAR_API_KEY=SANDBOX_API_KEY,
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "worker",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_killed_worker_posts_and_files_exactly_once(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    address = dev_env.client.service_client.config.target_host
    slack, linear = SlackState(), LinearState()
    # Hold chat.postMessage long enough to kill the worker while Slack is answering.
    slack.set_faults(Faults(latency=2.0, method="chat.postMessage"))
    plan = compile_text(DEFINITION, file="crash.yaml", catalogue=default_catalogue())
    trigger = {"incident_io": {"incident_id": "01CRASH", "title": "Queue backlog"}}
    async with serve(slack_app(slack)) as slack_url, serve(linear_app(linear)) as linear_url:
        first = await start_worker(address, task_queue, slack_url, linear_url)
        try:
            handle = await dev_env.client.start_workflow(
                InterpreterWorkflow.run,
                InterpretInput(plan=plan, trigger=trigger, set_search_attributes=False),
                id=f"crash-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )

            async def running() -> bool | None:
                pending = (await handle.describe()).raw_description.pending_activities
                started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                return True if any(p.state == started for p in pending) else None

            await eventually(running, message="the first activity never started")
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        slack.clear_faults()
        second = await start_worker(address, task_queue, slack_url, linear_url)
        try:
            result = await asyncio.wait_for(handle.result(), timeout=60)
        finally:
            second.send_signal(signal.SIGKILL)
            await second.wait()
    assert result.status == "completed"
    assert len(slack.messages) == 1
    assert len(linear.issues) == 1
