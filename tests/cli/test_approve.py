"""``rensei approve`` as a real process against a dev server with a waiting approval."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.debug import echo
from activities.slack import ApprovalPostInput, ApprovalResolveInput, SlackPostOutput
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.runs import InterpretInput
from interpreter.compiler import compile_text
from temporal_client import start_run
from tests.waiting import eventually
from tests.workflows.helpers import CATALOGUE, timeline_add_event
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).parent.parent.parent
DEFINITION = """\
name: gate
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: gate
    type: approval
    inputs: {channel: "#ops", message: "Go?", approvers: [U01ALICE]}
    onRejected: [stand_down]
  - id: stand_down
    type: debug.echo
    inputs: {why: "{{ $steps.gate.reason }}"}
"""


@activity.defn(name="slack.approval.post")
async def post(params: ApprovalPostInput) -> SlackPostOutput:
    return SlackPostOutput(channel="C1", ts="1.000001", permalink="https://slack.test/p1")


@activity.defn(name="slack.approval.resolve")
async def resolve(params: ApprovalResolveInput) -> SlackPostOutput:
    return SlackPostOutput(channel="C1", ts="1.000001", permalink="https://slack.test/p1")


async def rensei(address: str, *args: str) -> tuple[int, str, str]:
    env = dict(os.environ, RENSEI_TEMPORAL_ADDRESS=address)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_approve_and_reject_from_the_command_line(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    address = dev_env.client.service_client.config.target_host
    plan = compile_text(DEFINITION, file="gate.yaml", catalogue=CATALOGUE)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[InterpreterWorkflow],
        activities=[echo, post, resolve],
    ):
        handle = await dev_env.client.start_workflow(
            InterpreterWorkflow.run,
            InterpretInput(plan=plan, trigger={"incident_io": {}}, set_search_attributes=False),
            id=f"cli-gate-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        code, out, err = await rensei(address, "approve", handle.id, "nope")
        assert code == 1
        assert err.strip() == "rensei approve: no approval is waiting for step 'nope' in this run"

        async def asking() -> bool | None:
            return True if await handle.query(InterpreterWorkflow.approvals) else None

        await eventually(asking, seconds=5, message="the approval never started waiting")
        code, out, err = await rensei(
            address, "approve", handle.id, "gate", "--reject", "--reason", "freeze", "--by", "ines"
        )
        assert code == 0, err
        decided = json.loads(out)
        assert decided["decision"] == "rejected"
        assert decided["by"] == "ines"
        assert decided["source"] == "cli"
        result = await handle.result()
        assert result.steps[1].output == {"why": "freeze"}
        # the run has ended: a second decision hears who decided, and when
        code, _, err = await rensei(address, "approve", handle.id, "gate", "--by", "ana")
        assert code == 1
        assert err.startswith("rensei approve: step 'gate' was already decided by ines at ")
        assert err.strip().endswith(" (rejected)")
    code, _, err = await rensei(address, "approve", "no-such-run", "gate")
    assert code == 1
    assert "no running workflow 'no-such-run'" in err


async def test_approve_names_the_run_by_its_incident_reference(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    address = dev_env.client.service_client.config.target_host
    plan = compile_text(DEFINITION, file="gate.yaml", catalogue=CATALOGUE)
    reference = f"INC-{uuid.uuid4().int % 10**9}"
    params = InterpretInput(
        plan=plan,
        trigger={"incident_io": {"reference": reference}},
        incident_id="01INCREF",
        set_search_attributes=False,
    )
    async with (
        Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=[InterpreterWorkflow],
            activities=[echo, post, resolve],
        ),
        # the decision goes onto the incident's timeline, where incident.io calls run
        Worker(
            dev_env.client,
            task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
            activities=[timeline_add_event],
        ),
    ):
        handle = await start_run(
            dev_env.client, params, workflow_id=f"cli-ref-{uuid.uuid4().hex}", task_queue=task_queue
        )
        from stack.references import run_waiting_for_approval

        async def visible_and_waiting() -> str | None:
            try:
                return await run_waiting_for_approval(dev_env.client, "default", reference, "gate")
            except LookupError:
                return None

        assert await eventually(visible_and_waiting) == handle.id
        code, _, err = await rensei(address, "approve", reference.lower(), "gate")
        assert code == 0, err
        result = await handle.result()
    assert [s.status for s in result.steps] == ["completed", "skipped"]
