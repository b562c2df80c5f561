"""A2A activities against the agent simulator over real HTTP (v1.0 and v0.3)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.agents import AgentActivities, StaticAgentRegistry, normalize_state
from contracts.agents import AgentDispatchInput, AgentSendInput, AgentTask, AgentTaskRef
from settings import Settings
from simulators.agent import AgentConfig, AgentRecord, create_app
from simulators.server import free_port, serve
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio

INCIDENT = {"incident_id": "INC-12", "title": "Payments 5xx", "severity": "SEV-1"}


@dataclass
class Agent:
    url: str
    record: AgentRecord


@pytest_asyncio.fixture
async def agent() -> AsyncIterator[Agent]:
    port = free_port()
    record = AgentRecord()
    config = AgentConfig(public_url=f"http://127.0.0.1:{port}", work_seconds=0.05)
    async with serve(create_app(config, record=record), port=port) as url:
        yield Agent(url, record)


@pytest_asyncio.fixture
async def legacy(agent: Agent) -> AsyncIterator[str]:
    """A v0.3 card (``agent.json``, ``url``, no ``supportedInterfaces``) for the same agent."""
    app = FastAPI()
    card = {
        "name": "legacy-responder",
        "protocolVersion": "0.3.0",
        "url": f"{agent.url}/a2a/v1",
        "preferredTransport": "JSONRPC",
    }

    @app.get("/.well-known/agent.json")
    async def agent_json() -> dict[str, Any]:
        return card

    async with serve(app) as url:
        yield url


def acts_for(http: httpx.AsyncClient, **agents: str) -> AgentActivities:
    return AgentActivities(http, registry=StaticAgentRegistry(agents))


def send_input(card: str, payload: dict[str, Any], key: str = "wf-1/call_agent") -> AgentSendInput:
    return AgentSendInput(agent_card=card, payload=payload, message_id=key, text="Mitigate")


def ref(task: AgentTask) -> AgentTaskRef:
    return AgentTaskRef(rpc_url=task.rpc_url, protocol=task.protocol, task_id=task.task_id)


async def until_terminal(
    env: ActivityEnvironment, acts: AgentActivities, task: AgentTask
) -> AgentTask:
    """Polls as the workflow will (the agent works on its own clock)."""

    async def finished() -> AgentTask | None:
        current: AgentTask = await env.run(acts.get, ref(task))
        return current if current.terminal else None

    return task if task.terminal else await eventually(finished, seconds=5, interval=0.02)


async def test_v1_send_then_get_until_completed(
    agent: Agent, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = acts_for(http, **{"incident-responder": agent.url})
    sent = await env.run(acts.send, send_input("incident-responder", INCIDENT))
    assert sent.protocol == "1.0" and sent.rpc_url == f"{agent.url}/a2a/v1"
    assert sent.state in {"submitted", "working"} and not sent.terminal
    assert agent.record.inputs[sent.task_id] == INCIDENT | {"text": "Mitigate"}

    done = await until_terminal(env, acts, sent)
    assert (done.state, done.task_id, done.context_id) == (
        "completed",
        sent.task_id,
        sent.context_id,
    )
    assert done.summary is not None and done.summary.startswith("Mitigated INC-12: restarted")
    [artifact] = done.artifacts
    assert artifact["name"] == "summary" and artifact["text"] == done.summary
    assert [a["type"] for a in artifact["data"]["actions"]] == ["restart", "verify"]
    json.dumps(done.model_dump())  # plain JSON all the way down


async def test_v1_failure_reports_the_reason(
    agent: Agent, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = acts_for(http, responder=agent.url)
    sent = await env.run(acts.send, send_input("responder", INCIDENT | {"simulate": "fail"}))
    done = await until_terminal(env, acts, sent)
    assert done.state == "failed" and done.terminal and done.summary is None
    assert done.message == "Could not mitigate INC-12: simulated failure"


async def test_v1_cancel_then_cancel_again(
    agent: Agent, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = acts_for(http, responder=agent.url)
    sent = await env.run(acts.send, send_input("responder", INCIDENT | {"simulate": "hang"}))
    canceled = await env.run(acts.cancel, ref(sent))
    assert canceled.state == "canceled" and canceled.terminal
    again = await env.run(acts.cancel, ref(sent))  # TaskNotCancelable -> the current state
    assert again.state == "canceled" and again.task_id == sent.task_id
    assert agent.record.outcomes[sent.task_id] == "canceled"


async def test_v1_unknown_task_is_not_found(
    agent: Agent, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = acts_for(http)
    missing = AgentTaskRef(rpc_url=f"{agent.url}/a2a/v1", protocol="1.0", task_id="nope")
    with pytest.raises(ApplicationError) as caught:
        await env.run(acts.get, missing)
    assert caught.value.type == "NotFoundError" and caught.value.non_retryable


async def test_v03_card_send_get_cancel(
    agent: Agent, legacy: str, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = acts_for(http, legacy=legacy)
    sent = await env.run(acts.send, send_input("legacy", {"incident_id": "INC-7"}))
    assert sent.protocol == "0.3" and sent.state in {"submitted", "working"}
    done = await until_terminal(env, acts, sent)
    assert done.state == "completed"
    assert done.summary == "Mitigated INC-7: restarted payments-api; error rate back to baseline."

    hung = await env.run(acts.send, send_input("legacy", {"simulate": "hang"}, key="wf-2/x"))
    canceled = await env.run(acts.cancel, ref(hung))
    assert (canceled.state, canceled.protocol) == ("canceled", "0.3")
    assert (await env.run(acts.cancel, ref(hung))).state == "canceled"


async def test_unknown_agent_card(env: ActivityEnvironment, http: httpx.AsyncClient) -> None:
    acts = acts_for(http, known="http://127.0.0.1:9")
    with pytest.raises(ApplicationError) as caught:
        await env.run(acts.send, send_input("incident-responder", {}))
    assert caught.value.type == "InvalidRequestError" and caught.value.non_retryable
    assert caught.value.message == (
        "agent card 'incident-responder' is not registered: add it in "
        "Settings -> Integrations -> Agents"
    )


async def test_unreachable_agent_is_retryable(
    env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = acts_for(http, gone=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ApplicationError) as caught:
        await env.run(acts.send, send_input("gone", {}))
    assert caught.value.type == "ProviderUnavailableError" and not caught.value.non_retryable


async def test_falls_back_to_v03_when_v1_is_refused(env: ActivityEnvironment) -> None:
    seen: list[tuple[str, str | None]] = []
    card = {
        "name": "old",
        "supportedInterfaces": [{"url": "http://old.test/rpc", "protocolBinding": "JSONRPC"}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/agent-card.json":
            return httpx.Response(200, json=card)
        body = json.loads(request.content)
        seen.append((body["method"], request.headers.get("a2a-version")))
        if body["method"] == "SendMessage":
            error = {"code": -32601, "message": "Method not found"}
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "error": error})
        task = {"kind": "task", "id": "t1", "contextId": "c1", "status": {"state": "submitted"}}
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": task})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        acts = acts_for(http, old="http://old.test")
        sent = await env.run(acts.send, send_input("old", {"incident_id": "INC-1"}))
    assert seen == [("SendMessage", "1.0"), ("message/send", None)]
    assert (sent.task_id, sent.state, sent.protocol) == ("t1", "submitted", "0.3")


async def test_states_normalise_across_versions() -> None:
    assert normalize_state("TASK_STATE_INPUT_REQUIRED") == "input-required"
    assert normalize_state("auth-required") == "auth-required"
    assert normalize_state("TASK_STATE_CANCELED") == "canceled"
    assert normalize_state("TASK_STATE_UNSPECIFIED") == "unknown"
    assert normalize_state(None) == "unknown"


async def test_dispatch_input_durations_and_registry_from_settings() -> None:
    parsed = AgentDispatchInput.model_validate(
        {"agentCard": "x", "timeout": "1h", "pollInterval": 2}
    )
    assert (parsed.timeout, parsed.pollInterval, parsed.payload) == (3600.0, 2.0, {})
    with pytest.raises(ValueError, match="agentcard"):
        AgentDispatchInput.model_validate({"agentCard": "x", "agentcard": "y"})
    settings = Settings(agents={"incident-responder": "http://127.0.0.1:8790"})
    assert StaticAgentRegistry.from_settings(settings).agents == {
        "incident-responder": "http://127.0.0.1:8790"
    }
