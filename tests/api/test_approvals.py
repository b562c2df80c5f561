"""Slack interactions and /api/approvals, against a running approval on the time-skipping server."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.credentials import ChainedCredentials, StaticCredentials
from activities.debug import echo
from activities.slack import SlackActivities
from api.app import create_app
from contracts.runs import InterpretInput, RunResult
from interpreter.compiler import compile_text
from settings import Settings
from simulators.server import serve
from simulators.slack import (
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    SlackState,
    click,
)
from simulators.slack import (
    create_app as slack_app,
)
from store import Store
from tests.api.conftest import ADMIN
from tests.apps import AppTransport
from tests.waiting import eventually
from tests.workflows.helpers import CATALOGUE
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio

DEFINITION = """\
name: gate
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: gate
    type: approval
    inputs:
      channel: "#incidents"
      message: "Fail over the database?"
      approvers: ["@sre-leads"]
    onApproved: [failover]
    onRejected: [stand_down]
  - id: failover
    type: debug.echo
    inputs: {action: failover}
  - id: stand_down
    type: debug.echo
    inputs: {action: stand down}
"""
INTERACTIONS = "https://rensei.test/api/webhooks/slack/interactions"


@dataclass
class Rig:
    env: WorkflowEnvironment
    queue: str
    slack: SlackState
    anonymous: httpx.AsyncClient
    admin: httpx.AsyncClient
    started: list[str] = field(default_factory=list)

    async def end_leftovers(self) -> None:
        """Terminates runs a test left waiting: the time-skipping server would stall on them."""
        for workflow_id in self.started:
            handle = self.env.client.get_workflow_handle(workflow_id)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate(reason="end of test")

    async def start(self) -> WorkflowHandle[Any, RunResult]:
        plan = compile_text(DEFINITION, file="gate.yaml", catalogue=CATALOGUE)
        handle = await self.env.client.start_workflow(
            InterpreterWorkflow.run,
            InterpretInput(plan=plan, trigger={"incident_io": {}}, set_search_attributes=False),
            id=f"api-gate-{uuid.uuid4().hex}",
            task_queue=self.queue,
        )
        self.started.append(handle.id)

        async def posted() -> bool | None:
            items = await handle.query(InterpreterWorkflow.approvals)
            return True if items and items[0].slack_ts else None

        await eventually(posted, seconds=10, message="the approval never posted")
        return handle

    async def click(self, action: str = "approve", **kwargs: Any) -> httpx.Response:
        [message] = self.slack.messages
        return await click(
            INTERACTIONS,
            self.slack,
            channel=message.channel,
            message_ts=message.ts,
            action_id=action,
            client=self.anonymous,
            **kwargs,
        )


@pytest_asyncio.fixture
async def rig(
    time_env: WorkflowEnvironment, task_queue: str, settings: Settings, store: Store
) -> AsyncIterator[Rig]:
    state = SlackState()
    credentials = ChainedCredentials(
        [StaticCredentials({("default", "slack", "bot_token"): SANDBOX_BOT_TOKEN})]
    )
    signed = settings.model_copy(update={"slack_signing_secret": SecretStr(SANDBOX_SIGNING_SECRET)})
    async with serve(slack_app(state)) as url, httpx.AsyncClient(timeout=10) as http:
        acts = SlackActivities(credentials, http, base_url=url)
        app = create_app(signed, client=time_env.client, store=store, http_client=http)
        transport = AppTransport(app=app)
        async with (
            Worker(
                time_env.client,
                task_queue=task_queue,
                workflows=[InterpreterWorkflow],
                activities=[echo, *acts.all()],
            ),
            httpx.AsyncClient(transport=transport, base_url="https://rensei.test") as anonymous,
            httpx.AsyncClient(
                transport=transport,
                base_url="https://rensei.test",
                headers={"Authorization": f"Bearer {ADMIN}"},
            ) as admin,
        ):
            rig = Rig(time_env, task_queue, state, anonymous, admin)
            try:
                yield rig
            finally:
                await rig.end_leftovers()


async def test_a_signed_click_by_an_approver_approves(rig: Rig) -> None:
    handle = await rig.start()
    response = await rig.click(user_id="U01BOB")
    assert response.status_code == 200
    assert response.json() == {}
    result = await handle.result()
    assert result.steps[0].output["by"] == "U01BOB"
    assert [s.status for s in result.steps] == ["completed", "completed", "skipped"]


async def test_a_click_by_someone_else_answers_with_an_ephemeral_message(rig: Rig) -> None:
    handle = await rig.start()
    response = await rig.click(user_id="U01DAVE")
    assert response.status_code == 200
    assert response.json() == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": "<@U01DAVE> is not an approver of step 'gate'",
    }
    [item] = await handle.query(InterpreterWorkflow.approvals)
    assert item.status == "waiting"
    await rig.click("reject", user_id="U01ALICE")
    assert (await handle.result()).steps[0].output["decision"] == "rejected"


async def test_a_forged_signature_is_401(rig: Rig) -> None:
    await rig.start()
    rig.slack.signing_secret = "not-the-secret"
    response = await rig.click(user_id="U01BOB")
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or stale Slack signature"


async def test_a_stale_timestamp_is_401(rig: Rig) -> None:
    await rig.start()
    response = await rig.click(user_id="U01BOB", timestamp=int(time.time()) - 600)
    assert response.status_code == 401


async def test_an_operator_decides_through_the_api(rig: Rig) -> None:
    handle = await rig.start()
    url = f"/api/approvals/{handle.id}/gate"
    body = {"decision": "rejected", "reason": "not now", "by": "ines"}
    assert (await rig.anonymous.post(url, json=body)).status_code == 401
    listed = await rig.admin.get(f"/api/approvals/{handle.id}")
    assert [a["status"] for a in listed.json()] == ["waiting"]
    response = await rig.admin.post(url, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["by"] == "ines"
    assert response.json()["source"] == "api"
    again = await rig.admin.post(url, json=body)
    assert again.status_code == 409
    assert again.json()["detail"].startswith("step 'gate' was already decided by ines at ")
    assert again.json()["detail"].endswith(" (rejected)")
    missing = await rig.admin.post(f"/api/approvals/{handle.id}/nope", json=body)
    assert missing.status_code == 409
    assert missing.json()["detail"] == "no approval is waiting for step 'nope' in this run"
    await handle.result()
    unknown = await rig.admin.post("/api/approvals/no-such-run/gate", json=body)
    assert unknown.status_code == 404
