"""Slack activities: ``slack.post`` and the approval gate's post/resolve/group look-ups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio import activity

from activities.credentials import ChainedCredentials, ClientCache
from activities.errors import InvalidRequestError, integration_errors
from activities.slack.client import STEP_EVENT, SlackClient
from contracts.slack import (
    ApprovalPostInput,
    ApprovalResolveInput,
    SlackPostInput,
    SlackPostOutput,
    UsergroupMembersInput,
    UsergroupMembersResult,
)
from interpreter.plan import NodeCall

APPROVAL_BLOCK = "rensei-approval"
SLACK_TS = re.compile(r"^\d+\.\d+$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# How far before the first attempt to look for an earlier post: covers clock skew.
SEARCH_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class _Post:
    channel: str  # as the user wrote it
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    key: str


class SlackActivities:
    """Slack activities bound to a credential source and a shared HTTP client."""

    def __init__(
        self, credentials: ChainedCredentials, http: httpx.AsyncClient, *, base_url: str
    ) -> None:
        self._clients = ClientCache(
            credentials,
            "slack",
            "bot_token",
            lambda token: SlackClient(http, base_url=base_url, token=token),
        )

    async def _client(self, workspace: str) -> SlackClient:
        """The workspace's client, rebuilt when its token changes (keeps the channel cache)."""
        return await self._clients.get(workspace)

    @activity.defn(name="slack.post")
    async def post(self, call: NodeCall) -> dict[str, Any]:
        """Posts a message once per run and step, even when an attempt fails ambiguously."""
        with integration_errors():
            params = SlackPostInput.model_validate(call.inputs)
            client = await self._client(call.context.workspace)
            post = _Post(
                channel=params.channel,
                text=params.message,
                blocks=params.blocks,
                thread_ts=_thread_ts(params),
                key=call.context.idempotency_key,
            )
            result = await _post_once(client, post)
        return result.model_dump()

    @activity.defn(name="slack.approval.post")
    async def approval_post(self, params: ApprovalPostInput) -> SlackPostOutput:
        """Posts the approval request with Approve/Reject buttons, once per approval step."""
        with integration_errors():
            client = await self._client(params.workspace)
            value = f"{params.workflow_id}|{params.run_id}|{params.step_id}"
            post = _Post(
                channel=params.channel,
                text=f"Approval needed: {params.message}",
                blocks=approval_blocks(params.message, params.approvers, value),
                thread_ts=None,
                key=params.idempotency_key,
            )
            return await _post_once(client, post)

    @activity.defn(name="slack.approval.resolve")
    async def approval_resolve(self, params: ApprovalResolveInput) -> SlackPostOutput:
        """Replaces the buttons with the decision; running it twice gives the same message."""
        with integration_errors():
            client = await self._client(params.workspace)
            line = decision_text(params)
            current = await client.message(params.channel, params.ts)
            kept = [
                b
                for b in (current or {}).get("blocks") or []
                if isinstance(b, dict) and b.get("block_id") != APPROVAL_BLOCK
            ]
            decided = {"type": "section", "text": {"type": "mrkdwn", "text": line}}
            answer = await client.update(
                params.channel, params.ts, text=line, blocks=[*kept, decided]
            )
            channel, ts = str(answer["channel"]), str(answer["ts"])
            return SlackPostOutput(
                channel=channel, ts=ts, permalink=await client.permalink(channel, ts)
            )

    @activity.defn(name="slack.usergroup.members")
    async def usergroup_members(self, params: UsergroupMembersInput) -> UsergroupMembersResult:
        """Expands an approver group handle (``@sre-leads``) into user ids."""
        with integration_errors():
            client = await self._client(params.workspace)
            group_id, users = await client.usergroup_members(params.handle)
            return UsergroupMembersResult(
                id=group_id, handle=params.handle.removeprefix("@"), users=users
            )

    def all(self) -> list[Any]:
        """Every activity of this class, for the worker."""
        return [self.post, self.approval_post, self.approval_resolve, self.usergroup_members]


async def _post_once(client: SlackClient, post: _Post) -> SlackPostOutput:
    """chat.postMessage with the step's key in metadata; on a retry, find and update instead.

    A first attempt can store the message and still fail (a 500 or a dropped connection
    after Slack answered), so any later attempt first looks for a message carrying the key.
    """
    metadata = {"event_type": STEP_EVENT, "event_payload": {"key": post.key}}
    info = activity.info()
    if info.attempt > 1:
        channel_id = await client.channel_id(post.channel)
        oldest = info.scheduled_time.timestamp() - SEARCH_MARGIN_SECONDS
        found = await client.find_step_message(
            channel_id, post.key, oldest=oldest, thread_ts=post.thread_ts
        )
        if found is not None:
            activity.logger.info("slack: attempt %d found the earlier post", info.attempt)
            ts = str(found["ts"])
            await client.update(channel_id, ts, text=post.text, blocks=post.blocks)
            return SlackPostOutput(
                channel=channel_id, ts=ts, permalink=await client.permalink(channel_id, ts)
            )
    answer = await client.post_message(
        post.channel,
        text=post.text,
        blocks=post.blocks,
        thread_ts=post.thread_ts,
        metadata=metadata,
        label=post.channel,
    )
    channel, ts = str(answer["channel"]), str(answer["ts"])
    return SlackPostOutput(channel=channel, ts=ts, permalink=await client.permalink(channel, ts))


def _thread_ts(params: SlackPostInput) -> str | None:
    if params.threadTs:
        return params.threadTs
    if params.threadOf is None:
        return None
    if SLACK_TS.match(params.threadOf):
        return params.threadOf
    raise InvalidRequestError(
        f"threadOf '{params.threadOf}' was not resolved to a message ts; "
        f'write threadTs: "{{{{ $steps.{params.threadOf}.ts }}}}" instead'
    )


def approval_blocks(message: str, approvers: list[str], value: str) -> list[dict[str, Any]]:
    """The approval request: the question, who may answer, and the two buttons (NOTES §1.6)."""
    who = ", ".join(f"<@{a}>" if USER_ID.match(a) else f"@{a.removeprefix('@')}" for a in approvers)

    def button(action: str, label: str, style: str) -> dict[str, Any]:
        text = {"type": "plain_text", "text": label}
        return {"type": "button", "action_id": action, "style": style, "text": text, "value": value}

    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": message}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Approvers: {who}"}]},
        {
            "type": "actions",
            "block_id": APPROVAL_BLOCK,
            "elements": [
                button("approve", "Approve", "primary"),
                button("reject", "Reject", "danger"),
            ],
        },
    ]


def decision_text(params: ApprovalResolveInput) -> str:
    """``Approved by <@U1> at 2026-11-26T10:00:00Z: reason`` and its siblings."""
    who = ""
    if params.by:
        mention = USER_ID.match(params.by) is not None if params.mention is None else params.mention
        who = f" by <@{params.by}>" if mention else f" by {escape_mrkdwn(params.by)}"
    when = f" at {params.at}" if params.at else ""
    match params.decision:
        case "approved":
            line = f"Approved{who}{when}"
        case "rejected":
            line = f"Rejected{who}{when}"
        case _:
            line = f"Timed out{when}: no decision was made"
    return f"{line}: {escape_mrkdwn(params.reason)}" if params.reason else line


def escape_mrkdwn(text: str) -> str:
    """Text shown as written: no ``<@U1>`` mention, no ``<!channel>`` ping, no link.

    Slack reads ``<``, ``>`` and ``&`` as control characters and asks apps to escape
    them (https://api.slack.com/reference/surfaces/formatting#escaping).
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
