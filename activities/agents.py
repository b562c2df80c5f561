"""A2A agents: a hand-written JSON-RPC client (v1.0, falling back to v0.3) and its activities.

The workflow runs ``agent.dispatch`` itself (send, then poll with timers, cancel on
timeout); these activities are the three remote calls it makes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx
from temporalio import activity

from activities.errors import (
    IntegrationError,
    InvalidRequestError,
    NotFoundError,
    ProviderUnavailableError,
    from_http_status,
    from_transport,
    integration_errors,
)
from contracts.agents import (
    STATES,
    TERMINAL,
    A2AVersion,
    AgentSendInput,
    AgentState,
    AgentTask,
    AgentTaskRef,
)
from settings import Settings

PROVIDER = "A2A agent"
CARD_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")
TASK_NOT_FOUND, TASK_NOT_CANCELABLE, VERSION_NOT_SUPPORTED = -32001, -32002, -32009
METHOD_NOT_FOUND, INTERNAL_ERROR = -32601, -32603
_NEEDS_0_3 = {str(VERSION_NOT_SUPPORTED), str(METHOD_NOT_FOUND)}


# --- registry ------------------------------------------------------------------------------


class AgentRegistry(Protocol):
    """Finds an agent's base URL (where its card is served) by card name."""

    async def url(self, workspace: str, name: str) -> str | None:
        """The base URL, or None when ``name`` is not registered."""
        ...


@dataclass
class StaticAgentRegistry:
    """Card name -> base URL, the same for every workspace (``RENSEI_AGENTS``)."""

    agents: Mapping[str, str] = field(default_factory=dict)

    async def url(self, workspace: str, name: str) -> str | None:
        return self.agents.get(name)

    @classmethod
    def from_settings(cls, settings: Settings) -> StaticAgentRegistry:
        return cls(dict(settings.agents))


@dataclass
class ChainedAgentRegistry:
    """Asks each registry in turn (the workspace's stored cards, then ``RENSEI_AGENTS``)."""

    registries: Sequence[AgentRegistry]

    async def url(self, workspace: str, name: str) -> str | None:
        for registry in self.registries:
            found = await registry.url(workspace, name)
            if found:
                return found
        return None


# --- client --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentEndpoint:
    """Where to send JSON-RPC and in which protocol version."""

    rpc_url: str
    protocol: A2AVersion


class A2AClient:
    """JSON-RPC over an injected ``httpx.AsyncClient``; errors leave as ``IntegrationError``."""

    def __init__(self, http: httpx.AsyncClient, *, token: str | None = None) -> None:
        self._http = http
        self._token = token
        self._ids = itertools.count(1)

    async def endpoint(self, base_url: str) -> AgentEndpoint:
        """Reads the agent card and picks the JSON-RPC interface and protocol version."""
        base = base_url.rstrip("/")
        for path in CARD_PATHS:
            try:
                response = await self._http.get(base + path)
            except httpx.TransportError as exc:
                raise from_transport(PROVIDER, exc) from exc
            if response.status_code == 404:
                continue
            if not response.is_success:
                raise from_http_status(PROVIDER, response)
            return _endpoint_of(_json(response))
        raise NotFoundError(f"no agent card at {base}{CARD_PATHS[0]}")

    async def send(
        self, endpoint: AgentEndpoint, *, message_id: str, text: str, payload: dict[str, Any]
    ) -> AgentTask:
        """Starts a task without waiting for it; a v1.0 refusal retries in v0.3."""
        if endpoint.protocol == "1.0":
            message = {
                "messageId": message_id,
                "role": "ROLE_USER",
                "parts": [{"text": text}, {"data": payload}],
            }
            params = {"message": message, "configuration": {"returnImmediately": True}}
            try:
                return _task_of(await self._rpc(endpoint, "SendMessage", params), endpoint)
            except InvalidRequestError as exc:
                if exc.code not in _NEEDS_0_3:
                    raise
            endpoint = replace(endpoint, protocol="0.3")
        legacy = {
            "kind": "message",
            "messageId": message_id,
            "role": "user",
            "parts": [{"kind": "text", "text": text}, {"kind": "data", "data": payload}],
        }
        params = {"message": legacy, "configuration": {"blocking": False}}
        return _task_of(await self._rpc(endpoint, "message/send", params), endpoint)

    async def get(self, endpoint: AgentEndpoint, task_id: str) -> AgentTask:
        method = "GetTask" if endpoint.protocol == "1.0" else "tasks/get"
        return _task_of(await self._rpc(endpoint, method, {"id": task_id}), endpoint)

    async def cancel(self, endpoint: AgentEndpoint, task_id: str) -> AgentTask:
        """Cancels; a task that already ended is returned as it is."""
        method = "CancelTask" if endpoint.protocol == "1.0" else "tasks/cancel"
        try:
            return _task_of(await self._rpc(endpoint, method, {"id": task_id}), endpoint)
        except InvalidRequestError as exc:
            if exc.code != str(TASK_NOT_CANCELABLE):
                raise
        return await self.get(endpoint, task_id)

    async def _rpc(self, endpoint: AgentEndpoint, method: str, params: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json"}
        if endpoint.protocol == "1.0":
            headers["A2A-Version"] = "1.0"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = await self._http.post(endpoint.rpc_url, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise from_transport(PROVIDER, exc) from exc
        if not response.is_success:
            raise from_http_status(PROVIDER, response)
        answer = _json(response)
        error = answer.get("error")
        if isinstance(error, dict):
            raise _rpc_error(method, error)
        if "result" not in answer:
            raise ProviderUnavailableError(f"{PROVIDER} answered {method} without a result")
        return answer["result"]


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ProviderUnavailableError(f"{PROVIDER} answered with something other than JSON")
    return answer


def _endpoint_of(card: dict[str, Any]) -> AgentEndpoint:
    interfaces = [i for i in card.get("supportedInterfaces") or [] if isinstance(i, dict)]
    if interfaces:
        jsonrpc = [i for i in interfaces if i.get("protocolBinding", "JSONRPC") == "JSONRPC"]
        chosen = (jsonrpc or interfaces)[0]
        version = str(chosen.get("protocolVersion") or "1.0")
        protocol: A2AVersion = "0.3" if version.startswith("0.") else "1.0"
        return AgentEndpoint(str(chosen["url"]), protocol)
    if isinstance(card.get("url"), str):
        return AgentEndpoint(card["url"], "0.3")
    raise InvalidRequestError(f"the agent card '{card.get('name', '?')}' names no endpoint URL")


def _rpc_error(method: str, error: dict[str, Any]) -> IntegrationError:
    code = error.get("code")
    text = f"{PROVIDER} refused {method}: {error.get('message') or code}"
    if code == TASK_NOT_FOUND:
        return NotFoundError(text, code=str(code))
    if code == INTERNAL_ERROR:
        return ProviderUnavailableError(text, code=str(code))
    return InvalidRequestError(text, code=str(code))


def normalize_state(raw: Any) -> AgentState:
    """``TASK_STATE_INPUT_REQUIRED`` and ``input-required`` both become ``input-required``."""
    state = str(raw or "").lower().removeprefix("task_state_").replace("_", "-")
    state = "canceled" if state == "cancelled" else state
    return state if state in STATES else "unknown"  # type: ignore[return-value]


def _texts(parts: Any) -> list[str]:
    return [str(p["text"]) for p in parts or [] if isinstance(p, dict) and "text" in p]


def _artifact(raw: dict[str, Any]) -> dict[str, Any]:
    parts = raw.get("parts") or []
    data = [p["data"] for p in parts if isinstance(p, dict) and "data" in p]
    texts = _texts(parts)
    return {
        "name": raw.get("name"),
        "text": "\n".join(texts) if texts else None,
        "data": data[0] if len(data) == 1 else (data or None),
    }


def _task_of(result: Any, endpoint: AgentEndpoint) -> AgentTask:
    """A v1.0 ``{task}|{message}`` wrapper, a bare Task, or a v0.3 Task/Message."""
    if not isinstance(result, dict):
        raise ProviderUnavailableError(f"{PROVIDER} answered with an unreadable result")
    if isinstance(result.get("task"), dict):
        result = result["task"]
    elif isinstance(result.get("message"), dict) or result.get("kind") == "message":
        # The agent answered directly, without a task: that answer is the result.
        message = result.get("message", result)
        text = "\n".join(_texts(message.get("parts"))) or None
        return AgentTask(
            task_id=str(message.get("taskId") or ""),
            context_id=message.get("contextId"),
            state="completed",
            terminal=True,
            summary=text,
            message=text,
            rpc_url=endpoint.rpc_url,
            protocol=endpoint.protocol,
        )
    status = result.get("status") or {}
    state = normalize_state(status.get("state"))
    artifacts = [_artifact(a) for a in result.get("artifacts") or [] if isinstance(a, dict)]
    named = [a["text"] for a in artifacts if a["name"] == "summary" and a["text"]]
    every = [a["text"] for a in artifacts if a["text"]]
    status_text = "\n".join(_texts((status.get("message") or {}).get("parts"))) or None
    return AgentTask(
        task_id=str(result.get("id") or ""),
        context_id=result.get("contextId"),
        state=state,
        terminal=state in TERMINAL,
        summary=named[0] if named else ("\n".join(every) if every else None),
        artifacts=artifacts,
        message=status_text,
        rpc_url=endpoint.rpc_url,
        protocol=endpoint.protocol,
    )


# --- activities ------------------------------------------------------------------------------


class AgentActivities:
    """The remote calls behind ``agent.dispatch``: send, get, cancel."""

    def __init__(self, http: httpx.AsyncClient, *, registry: AgentRegistry) -> None:
        self._client = A2AClient(http)
        self._registry = registry

    @activity.defn(name="agent.send")
    async def send(self, params: AgentSendInput) -> AgentTask:
        """Finds the agent by card name and starts a task (returns at once)."""
        with integration_errors():
            base = await self._registry.url(params.workspace, params.agent_card)
            if base is None:
                raise InvalidRequestError(
                    f"agent card '{params.agent_card}' is not registered: add it in "
                    "Settings -> Integrations -> Agents"
                )
            endpoint = await self._client.endpoint(base)
            incident = params.incident_id or params.payload.get("incidentId")
            text = params.text or (f"Handle incident {incident}" if incident else "Handle incident")
            return await self._client.send(
                endpoint, message_id=params.message_id, text=text, payload=params.payload
            )

    @activity.defn(name="agent.get")
    async def get(self, ref: AgentTaskRef) -> AgentTask:
        """The task's current state, summary and artifacts."""
        with integration_errors():
            return await self._client.get(AgentEndpoint(ref.rpc_url, ref.protocol), ref.task_id)

    @activity.defn(name="agent.cancel")
    async def cancel(self, ref: AgentTaskRef) -> AgentTask:
        """Cancels the task; one that already ended is returned unchanged."""
        with integration_errors():
            return await self._client.cancel(AgentEndpoint(ref.rpc_url, ref.protocol), ref.task_id)

    def all(self) -> list[Any]:
        """Every activity of this class, for the worker."""
        return [self.send, self.get, self.cancel]
