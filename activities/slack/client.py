"""A thin typed client for the Slack Web API methods rensei calls (bot token, per-method args)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from activities.errors import (
    AuthenticationError,
    IntegrationError,
    InvalidRequestError,
    NotFoundError,
    ProviderUnavailableError,
    RateLimitedError,
    from_http_status,
    from_transport,
    parse_retry_after,
)
from activities.slack.scopes import METHODS

PROVIDER = "Slack"
JSON_UTF8 = "application/json; charset=utf-8"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
# Metadata event type that marks a message as posted by a rensei step (for exactly-once).
STEP_EVENT = "rensei_step"

_AUTH = {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "missing_scope"}
_RETRYABLE = {"internal_error", "fatal_error", "request_timeout", "service_unavailable"}
_CHANNEL_PROBLEMS = {
    "channel_not_found": "Slack channel '{channel}' not found: check the name and that the "
    "rensei app is in it",
    "not_in_channel": "the rensei app is not in Slack channel '{channel}': invite it with "
    "/invite @rensei",
    "is_archived": "Slack channel '{channel}' is archived: unarchive it or pick another channel",
}
_MESSAGE_PROBLEMS = {
    "no_text": "the Slack message is empty: give it a message or blocks",
    "msg_too_long": "the Slack message is too long (Slack truncates text over 40,000 characters)",
    "invalid_blocks": "Slack refused the blocks: check them in Block Kit Builder",
    "invalid_blocks_format": "Slack refused the blocks: blocks must be a list of block objects",
    "msg_blocks_too_long": "the Slack blocks are too long: shorten them",
    "message_not_found": "the Slack message to update no longer exists",
    "cant_update_message": "Slack refused the update: rensei can only edit its own messages",
    "thread_not_found": "the Slack thread to read no longer exists",
}


class SlackClient:
    """One workspace's bot token against ``{base_url}/api/<method>``.

    Every failure leaves as an ``IntegrationError``; channel names are resolved to ids
    once and cached for the life of the client.
    """

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._token = token
        self._channels: dict[str, str] = {}

    async def call(self, method: str, body: dict[str, Any], *, channel: str = "") -> dict[str, Any]:
        """POSTs one method; returns the answer when ``ok`` is true, raises otherwise.

        The arguments go as a JSON body to methods that accept JSON and as form fields to
        the others (Slack ignores a JSON body there). ``channel`` is the channel as the user
        wrote it, so errors can name it.
        """
        headers = {"Authorization": f"Bearer {self._token}"}
        url = f"{self._base}/api/{method}"
        try:
            if METHODS[method].json:
                content = json.dumps(body, separators=(",", ":")).encode()
                headers["Content-Type"] = JSON_UTF8
                response = await self._http.post(url, content=content, headers=headers)
            else:
                response = await self._http.post(url, data=form_fields(body), headers=headers)
        except httpx.TransportError as exc:
            raise from_transport(PROVIDER, exc) from exc
        if response.status_code == 429:
            delay = parse_retry_after(response.headers.get("retry-after"))
            raise RateLimitedError(
                f"Slack rate limit reached on {method}; retrying later",
                retry_after=delay,
                status=429,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise from_http_status(PROVIDER, response)
        if answer.get("ok") is True and response.is_success:
            return answer
        code = str(answer.get("error") or "")
        if not code:
            raise from_http_status(PROVIDER, response)
        if code == "missing_scope":
            needed = str(answer.get("needed") or "?")
            raise AuthenticationError(
                f"Permission denied: the Slack token lacks the scope '{needed}' that {method} "
                "needs; add it under OAuth & Permissions, reinstall the app and reconnect it",
                status=response.status_code,
                code=code,
            )
        raise _error(method, code, channel=channel, status=response.status_code)

    async def channel_id(self, channel: str) -> str:
        """The id of ``channel`` (``#name``, ``name`` or an id), via conversations.list."""
        if CHANNEL_ID.match(channel):
            return channel
        name = channel.removeprefix("#")
        if name not in self._channels:
            cursor = ""
            while True:
                body: dict[str, Any] = {
                    "types": "public_channel,private_channel",
                    "exclude_archived": False,
                    "limit": 200,
                }
                if cursor:
                    body["cursor"] = cursor
                page = await self.call("conversations.list", body)
                for found in page.get("channels", []):
                    self._channels[str(found["name"])] = str(found["id"])
                cursor = str(page.get("response_metadata", {}).get("next_cursor") or "")
                if name in self._channels or not cursor:
                    break
        if name not in self._channels:
            raise _error("conversations.list", "channel_not_found", channel=channel, status=200)
        return self._channels[name]

    async def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """chat.postMessage; ``label`` is how errors name the channel."""
        body: dict[str, Any] = {"channel": channel, "text": text}
        if blocks is not None:
            body["blocks"] = blocks
        if thread_ts:
            body["thread_ts"] = thread_ts
        if metadata is not None:
            body["metadata"] = metadata
        return await self.call("chat.postMessage", body, channel=label or channel)

    async def update(
        self,
        channel_id: str,
        ts: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """chat.update; ``blocks=None`` keeps the old blocks, ``[]`` removes them."""
        body: dict[str, Any] = {"channel": channel_id, "ts": ts, "text": text}
        if blocks is not None:
            body["blocks"] = blocks
        if metadata is not None:
            body["metadata"] = metadata
        return await self.call("chat.update", body, channel=channel_id)

    async def permalink(self, channel_id: str, ts: str) -> str:
        """chat.getPermalink."""
        body = {"channel": channel_id, "message_ts": ts}
        answer = await self.call("chat.getPermalink", body, channel=channel_id)
        return str(answer["permalink"])

    async def find_step_message(
        self, channel_id: str, key: str, *, oldest: float, thread_ts: str | None = None
    ) -> dict[str, Any] | None:
        """The message a step already posted (metadata key ``key``) since ``oldest``, if any."""
        method = "conversations.replies" if thread_ts else "conversations.history"
        body: dict[str, Any] = {
            "channel": channel_id,
            "include_all_metadata": True,
            "oldest": f"{max(oldest, 0.0):.6f}",
            "limit": 200,
        }
        if thread_ts:
            body["ts"] = thread_ts
        for _ in range(10):  # 2,000 messages since the first attempt is plenty
            page = await self.call(method, body, channel=channel_id)
            for message in page.get("messages", []):
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == STEP_EVENT and payload.get("key") == key:
                    return dict(message)
            cursor = page.get("response_metadata", {}).get("next_cursor")
            if not cursor:
                return None
            body["cursor"] = cursor
        return None

    async def message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """One top-level message by ``ts`` (conversations.history, inclusive window)."""
        body = {"channel": channel_id, "latest": ts, "oldest": ts, "inclusive": True, "limit": 1}
        page = await self.call("conversations.history", body, channel=channel_id)
        messages = page.get("messages", [])
        return dict(messages[0]) if messages else None

    async def usergroup_members(self, handle: str) -> tuple[str, list[str]]:
        """The id and member ids of the user group ``@handle`` (usergroups.list + .users.list)."""
        wanted = handle.removeprefix("@")
        groups = (await self.call("usergroups.list", {})).get("usergroups", [])
        group = next((g for g in groups if g.get("handle") == wanted), None)
        if group is None:
            known = ", ".join(sorted(f"@{g.get('handle')}" for g in groups)) or "none"
            raise InvalidRequestError(f"Slack user group '@{wanted}' not found (known: {known})")
        answer = await self.call("usergroups.users.list", {"usergroup": group["id"]})
        return str(group["id"]), [str(u) for u in answer.get("users", [])]


def form_fields(body: dict[str, Any]) -> dict[str, str]:
    """Arguments as Slack's form fields: booleans as 1/0 (as slack_sdk sends them), lists and
    objects as JSON text, ``None`` left out."""
    fields: dict[str, str] = {}
    for name, value in body.items():
        if value is None:
            continue
        if isinstance(value, bool):
            fields[name] = "1" if value else "0"
        elif isinstance(value, dict | list):
            fields[name] = json.dumps(value, separators=(",", ":"))
        else:
            fields[name] = str(value)
    return fields


def _error(method: str, code: str, *, channel: str, status: int) -> IntegrationError:
    """Translates Slack's ``error`` code (HTTP 200 or otherwise) into the error tree."""
    if code in _AUTH:
        return AuthenticationError.for_provider(PROVIDER, detail=code, status=status)
    if code in ("ratelimited", "rate_limited"):
        return RateLimitedError(f"Slack rate limit reached on {method}; retrying later")
    if code in _RETRYABLE or status >= 500:
        return ProviderUnavailableError(
            f"Slack failed on {method} ({code})", status=status, code=code
        )
    if code in _CHANNEL_PROBLEMS:
        return InvalidRequestError(
            _CHANNEL_PROBLEMS[code].format(channel=channel or "?"), code=code, status=status
        )
    if code in _MESSAGE_PROBLEMS:
        return InvalidRequestError(_MESSAGE_PROBLEMS[code], code=code, status=status)
    if code in ("no_such_subteam", "user_not_found"):
        return NotFoundError(f"Slack {method} failed: {code}", status=status, code=code)
    return InvalidRequestError(f"Slack {method} failed: {code}", code=code, status=status)
