"""Inputs and results of the Slack node and of the internal approval activities."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlackPostInput(_Input):
    """``slack.post``: a message to a channel, optionally in a thread.

    ``threadOf: <step id>`` is resolved by the interpreter into ``threadTs`` (the earlier
    step's ``ts``); a ``threadOf`` that already holds a ts (``1700000000.000100``) is
    accepted as an alias of ``threadTs``.
    """

    channel: str = Field(min_length=1, description="#name, name or channel id")
    message: str = Field(description="mrkdwn text; the notification fallback when blocks are set")
    blocks: list[dict[str, Any]] | None = Field(default=None, description="Block Kit blocks")
    threadOf: str | None = Field(default=None, description="id of an earlier slack.post step")
    threadTs: str | None = Field(default=None, description="ts of the thread's parent message")


class SlackPostOutput(BaseModel):
    """Where the message landed: channel id and ts identify it; permalink is for people."""

    channel: str
    ts: str
    permalink: str


class ApprovalPostInput(_Input):
    """``slack.approval.post`` (internal): the approval request with Approve/Reject buttons."""

    workspace: str = "default"
    channel: str
    message: str
    approvers: list[str] = Field(min_length=1, description="user ids (U...) or @group handles")
    idempotency_key: str
    workflow_id: str
    run_id: str
    step_id: str


class ApprovalResolveInput(_Input):
    """``slack.approval.resolve`` (internal): replaces the buttons with the decision."""

    workspace: str = "default"
    channel: str = Field(description="the channel id returned by slack.approval.post")
    ts: str
    decision: Literal["approved", "rejected", "timeout"]
    by: str | None = None
    at: str | None = None
    reason: str | None = None
    mention: bool | None = Field(
        default=None,
        description="True: `by` is a Slack user id (a click); False: an operator's name, "
        "shown as plain text. None (older runs): mention what looks like a user id",
    )


class UsergroupMembersInput(_Input):
    """``slack.usergroup.members`` (internal): who is in ``@handle``."""

    workspace: str = "default"
    handle: str = Field(min_length=1)


class UsergroupMembersResult(BaseModel):
    """The group's id and its members' user ids."""

    id: str
    handle: str
    users: list[str]
