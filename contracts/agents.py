"""The A2A agent node and the internal agent activities: inputs, results and task states."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from interpreter.schema import parse_duration

A2AVersion = Literal["1.0", "0.3"]
AgentState = Literal[
    "submitted",
    "working",
    "completed",
    "failed",
    "canceled",
    "rejected",
    "input-required",
    "auth-required",
    "unknown",
]
STATES: frozenset[str] = frozenset(AgentState.__args__)  # type: ignore[attr-defined]
TERMINAL = frozenset({"completed", "failed", "canceled", "rejected"})


class AgentDispatchInput(BaseModel):
    """``agent.dispatch``: hand a payload to the agent named by its card; wait for its result."""

    model_config = ConfigDict(extra="forbid")

    agentCard: str = Field(min_length=1, description="the agent card's name, as registered")
    payload: dict[str, Any] = Field(default_factory=dict, description="sent as a data part")
    text: str | None = Field(default=None, description="sent as a text part")
    timeout: float = Field(default=1800.0, description="how long to wait (30m); then onTimeout")
    pollInterval: float = Field(default=5.0, description="how often to ask for the task (5s)")

    @field_validator("timeout", "pollInterval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class AgentDispatchOutput(BaseModel):
    """The task's end: ``branch`` is ``onTimeout`` when the wait ran out."""

    taskId: str
    state: AgentState
    summary: str | None = None
    artifacts: list[dict[str, Any]] = Field(default_factory=list)
    branch: str | None = None
    problems: list[str] = Field(
        default_factory=list, description="best-effort follow-ups that failed (cancelling)"
    )


class AgentSendInput(BaseModel):
    """``agent.send`` (internal): the first message of a task; ``message_id`` = idempotency key."""

    model_config = ConfigDict(extra="forbid")

    workspace: str = "default"
    agent_card: str
    payload: dict[str, Any] = Field(default_factory=dict)
    message_id: str
    text: str | None = None
    incident_id: str | None = None


class AgentTaskRef(BaseModel):
    """``agent.get`` / ``agent.cancel`` (internal): where a task lives."""

    model_config = ConfigDict(extra="forbid")

    workspace: str = "default"
    rpc_url: str
    protocol: A2AVersion
    task_id: str


class AgentTask(BaseModel):
    """A task as rensei sees it, whatever the protocol version (states in lower case)."""

    task_id: str
    context_id: str | None = None
    state: AgentState
    terminal: bool
    summary: str | None = None
    artifacts: list[dict[str, Any]] = Field(default_factory=list)
    message: str | None = None
    rpc_url: str
    protocol: A2AVersion
