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
    problems: list[str] = Field(
        default_factory=list, description="best-effort follow-ups that failed (Slack update)"
    )
    timeline_item: str | None = Field(
        default=None, description="the incident timeline item that records the decision"
    )


class WaitForInput(BaseModel):
    """``incident_io.incident.wait_for``: wait until the incident's workflow forwards an event.

    ``event`` is ``resolved`` (the default), ``updated`` or ``created``; for ``updated``,
    ``field`` narrows to one field (``severity``, ``status``, ``timeline``,
    ``custom_fields.<name>``, ...) and ``value`` to one new value.
    """

    model_config = ConfigDict(extra="forbid")

    event: Literal["resolved", "updated", "created"] = "resolved"
    field: str | None = None
    value: Any = None
    incidentId: str | None = Field(default=None, description="defaults to the run's incident")
    timeout: float = Field(default=86400.0, description="how long to wait (24h); then onTimeout")

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class WaitForOutput(BaseModel):
    """The matching event, or ``matched: false`` and ``branch: onTimeout``."""

    matched: bool
    event: str | None = None
    field: str | None = None
    old_value: Any = None
    new_value: Any = None
    payload: dict[str, Any] = Field(default_factory=dict)
    branch: str | None = None
