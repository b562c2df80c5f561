"""What a running interpreter accepts from outside: approval decisions and agent pushes.

Shared by the workflow (handlers), the API and the CLI (callers), so it holds only
pydantic models and pure helpers, safe to pass through the workflow sandbox.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["approved", "rejected"]
DecisionSource = Literal["slack", "api", "cli"]


class DecideInput(BaseModel):
    """Argument of the ``decide`` update: one person's answer to one approval step."""

    model_config = ConfigDict(extra="forbid")

    step_id: str = Field(min_length=1)
    decision: Decision
    by: str = Field(min_length=1, description="Slack user id, or the operator's name")
    reason: str | None = None
    source: DecisionSource = "api"


class DecideResult(BaseModel):
    """What the ``decide`` update answers: the decision as recorded by the run."""

    step_id: str
    decision: Decision
    by: str
    at: str
    reason: str | None = None
    source: DecisionSource


class PendingApproval(BaseModel):
    """An approval step as the ``approvals`` query shows it."""

    step_id: str
    channel: str
    message: str
    approvers: list[str] = Field(description="as written: user ids and @group handles")
    users: list[str] = Field(description="the user ids allowed to decide from Slack")
    deadline: str
    status: Literal["waiting", "approved", "rejected", "timeout"] = "waiting"
    decided_by: str | None = None
    decided_at: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None


def already_decided(item: PendingApproval) -> str:
    """What a second decision is told: who decided, when, and how."""
    return (
        f"step '{item.step_id}' was already decided by {item.decided_by} at "
        f"{item.decided_at} ({item.status})"
    )


class AgentUpdate(BaseModel):
    """Argument of the ``agent_update`` signal: an A2A push said a task changed state."""

    model_config = ConfigDict(extra="ignore")

    step_id: str
    task_id: str
    state: str


def slack_button_value(workflow_id: str, run_id: str, step_id: str) -> str:
    """The value the approval buttons carry (``activities.slack`` writes the same)."""
    return f"{workflow_id}|{run_id}|{step_id}"


def parse_button_value(value: str) -> tuple[str, str, str] | None:
    """``(workflow_id, run_id, step_id)`` of a button value, or None when it is not ours."""
    parts = value.rsplit("|", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


__all__ = [
    "AgentUpdate",
    "DecideInput",
    "DecideResult",
    "Decision",
    "DecisionSource",
    "PendingApproval",
    "parse_button_value",
    "slack_button_value",
]
