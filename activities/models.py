"""Models of the nodes the workflow runs itself (approvals), shared by catalogue and workflow."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from interpreter.schema import parse_duration


class ApprovalInput(BaseModel):
    """``approval``: ask people in Slack; the run waits for Approve, Reject or the timeout."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, description="#name or channel id")
    message: str = Field(min_length=1, description="the question, in mrkdwn")
    approvers: list[str] = Field(min_length=1, description="user ids (U...) or @group handles")
    timeout: float = Field(default=3600.0, description="how long to wait (1h); then onTimeout")

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class ApprovalOutput(BaseModel):
    """The decision; ``branch`` is onApproved, onRejected or onTimeout."""

    decision: Literal["approved", "rejected", "timeout"]
    by: str | None = None
    at: str | None = None
    reason: str | None = None
    branch: str | None = None
