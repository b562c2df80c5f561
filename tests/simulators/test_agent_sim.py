"""The A2A agent simulator over real HTTP with hand-written JSON-RPC (v1.0 and v0.3)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request

from simulators.agent import AgentConfig, AgentRecord, create_app
from simulators.server import free_port, serve
from tests.waiting import eventually

V1 = {"A2A-Version": "1.0"}
TERMINAL_V1 = {"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED"}
TERMINAL_V03 = {"completed", "failed", "canceled"}
INCIDENT = {"incident_id": "INC-12", "title": "Payments 5xx", "severity": "SEV-1"}
_ids = itertools.count(1)


class Agent:
    def __init__(self, client: httpx.AsyncClient, record: AgentRecord, rpc_url: str) -> None:
        self.client = client
        self.record = record
        self.rpc_url = rpc_url

    async def rpc(self, method: str, params: dict[str, Any], *, v1: bool = True) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": params}
        response = await self.client.post(self.rpc_url, json=body, headers=V1 if v1 else {})
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        assert answer["id"] == body["id"]
        return answer

    async def poll(self, task_id: str, *, v1: bool = True) -> dict[str, Any]:
        """Polls until a terminal state, as rensei's client will (a short interval)."""
        method, terminal = ("GetTask", TERMINAL_V1) if v1 else ("tasks/get", TERMINAL_V03)

        async def finished() -> dict[str, Any] | None:
            task: dict[str, Any] = (await self.rpc(method, {"id": task_id}, v1=v1))["result"]
            return task if task["status"]["state"] in terminal else None

        return await eventually(finished, seconds=5, interval=0.02)


@pytest_asyncio.fixture
async def agent() -> AsyncIterator[Agent]:
    port = free_port()
    config = AgentConfig(public_url=f"http://127.0.0.1:{port}", work_seconds=0.05)
    record = AgentRecord()
    app = create_app(config, record=record)
    async with serve(app, port=port) as url, httpx.AsyncClient(base_url=url) as client:
        yield Agent(client, record, config.rpc_path)


def v1_message(data: dict[str, Any], message_id: str = "wf-1-step-1") -> dict[str, Any]:
    parts = [{"text": "Mitigate this incident"}, {"data": data}]
    return {"messageId": message_id, "role": "ROLE_USER", "parts": parts}


@pytest.mark.asyncio
async def test_agent_card_is_v1_with_jsonrpc_interface(agent: Agent) -> None:
    card = (await agent.client.get("/.well-known/agent-card.json")).json()
    assert card["name"] == "incident-responder"
    [interface] = card["supportedInterfaces"]
    assert interface["protocolBinding"] == "JSONRPC" and interface["protocolVersion"] == "1.0"
    assert interface["url"] == f"{agent.client.base_url}/a2a/v1"
    assert card["capabilities"] == {"streaming": True, "pushNotifications": True}
    assert card["skills"][0]["id"] == "mitigate-incident"


@pytest.mark.asyncio
async def test_v1_send_return_immediately_then_poll(agent: Agent) -> None:
    params = {"message": v1_message(INCIDENT), "configuration": {"returnImmediately": True}}
    answer = await agent.rpc("SendMessage", params)
    task = answer["result"]["task"]
    assert task["status"]["state"] in {"TASK_STATE_SUBMITTED", "TASK_STATE_WORKING"}
    done = await agent.poll(task["id"])
    assert done["status"]["state"] == "TASK_STATE_COMPLETED"
    [artifact] = done["artifacts"]
    text, data = artifact["parts"]
    assert artifact["name"] == "summary"
    assert text["text"].startswith("Mitigated INC-12: restarted payments-api;")
    assert "severity SEV-1" in text["text"]
    assert data["data"]["incident_id"] == "INC-12"
    assert [a["type"] for a in data["data"]["actions"]] == ["restart", "verify"]
    assert agent.record.inputs[task["id"]]["severity"] == "SEV-1"
    assert agent.record.outcomes[task["id"]] == "completed"


@pytest.mark.asyncio
async def test_v1_blocking_send_returns_terminal_task(agent: Agent) -> None:
    answer = await agent.rpc("SendMessage", {"message": v1_message({"incident_id": "INC-3"})})
    task = answer["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert task["artifacts"][0]["parts"][0]["text"].startswith("Mitigated INC-3:")


@pytest.mark.asyncio
async def test_v1_simulated_failure(agent: Agent) -> None:
    message = v1_message(INCIDENT | {"simulate": "fail"})
    task = (await agent.rpc("SendMessage", {"message": message}))["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_FAILED"
    assert "artifacts" not in task
    assert agent.record.outcomes[task["id"]] == "failed"


@pytest.mark.asyncio
async def test_v1_hang_then_cancel(agent: Agent) -> None:
    params = {
        "message": v1_message(INCIDENT | {"simulate": "hang"}),
        "configuration": {"returnImmediately": True},
    }
    task = (await agent.rpc("SendMessage", params))["result"]["task"]
    canceled = (await agent.rpc("CancelTask", {"id": task["id"]}))["result"]
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    assert (await agent.poll(task["id"]))["status"]["state"] == "TASK_STATE_CANCELED"
    again = await agent.rpc("CancelTask", {"id": task["id"]})
    assert again["error"]["code"] == -32002  # TaskNotCancelable


@pytest.mark.asyncio
async def test_v1_unknown_task_is_task_not_found(agent: Agent) -> None:
    answer = await agent.rpc("GetTask", {"id": "no-such-task"})
    assert answer["error"]["code"] == -32001


@pytest.mark.asyncio
async def test_v03_message_send_and_tasks_get(agent: Agent) -> None:
    message = {
        "role": "user",
        "messageId": "wf-2-step-1",
        "parts": [
            {"kind": "text", "text": "go"},
            {"kind": "data", "data": {"incident_id": "INC-7"}},
        ],
    }
    params = {"message": message, "configuration": {"blocking": False}}
    task = (await agent.rpc("message/send", params, v1=False))["result"]
    assert task["kind"] == "task" and task["status"]["state"] in {"submitted", "working"}
    done = await agent.poll(task["id"], v1=False)
    assert done["status"]["state"] == "completed"
    text_part = done["artifacts"][0]["parts"][0]
    assert text_part == {
        "kind": "text",
        "text": "Mitigated INC-7: restarted payments-api; error rate back to baseline.",
    }


@pytest.mark.asyncio
async def test_v03_hang_then_cancel(agent: Agent) -> None:
    message = {
        "role": "user",
        "messageId": "wf-3-step-1",
        "parts": [{"kind": "data", "data": {"incident_id": "INC-8", "simulate": "hang"}}],
    }
    params = {"message": message, "configuration": {"blocking": False}}
    task = (await agent.rpc("message/send", params, v1=False))["result"]
    canceled = (await agent.rpc("tasks/cancel", {"id": task["id"]}, v1=False))["result"]
    assert canceled["status"]["state"] == "canceled"


@pytest.mark.asyncio
async def test_v1_push_notification_reaches_webhook(agent: Agent) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    completed = asyncio.Event()
    receiver = FastAPI()

    @receiver.post("/hooks/a2a")
    async def hook(request: Request) -> dict[str, bool]:
        body = await request.json()
        received.append((body, request.headers.get("x-a2a-notification-token")))
        state = body.get("statusUpdate", {}).get("status", {}).get("state")
        if state == "TASK_STATE_COMPLETED":
            completed.set()
        return {"ok": True}

    async with serve(receiver) as hook_url:
        push = {"url": f"{hook_url}/hooks/a2a", "token": "tok-123"}
        params = {
            "message": v1_message(INCIDENT, "wf-4-step-1"),
            "configuration": {"returnImmediately": True, "taskPushNotificationConfig": push},
        }
        task = (await agent.rpc("SendMessage", params))["result"]["task"]
        async with asyncio.timeout(5):
            await completed.wait()
    assert all(token == "tok-123" for _, token in received)
    updates = [body["statusUpdate"] for body, _ in received if "statusUpdate" in body]
    assert updates[-1]["taskId"] == task["id"]
    assert "TASK_STATE_WORKING" in [u["status"]["state"] for u in updates]


@pytest.mark.asyncio
async def test_v1_method_needs_version_header(agent: Agent) -> None:
    # A missing A2A-Version means 0.3 (spec §3.6), so v1.0 method names are refused.
    answer = await agent.rpc("GetTask", {"id": "no-such-task"}, v1=False)
    assert answer["error"]["code"] == -32009
