"""Builds, signs and sends Slack ``block_actions`` payloads, as Slack does on a button click."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx

from simulators.slack.state import APP_ID, TEAM_DOMAIN, TEAM_ID, SlackState


def sign(signing_secret: str, timestamp: str | int, body: bytes | str) -> str:
    """Returns ``v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`` (Slack request signing)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + raw
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(
    signing_secret: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack sends with a signed form POST."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(signing_secret, stamp, body),
    }


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The raw form body: a single ``payload`` field holding the URL-encoded JSON."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("ascii")


def _find_button(blocks: list[Any] | None, action_id: str) -> tuple[str, dict[str, Any]]:
    for block in blocks or []:
        if not isinstance(block, dict) or block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "actions")), element
    return "actions", {}


def build_interaction(
    state: SlackState,
    *,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str | None = None,
    user_id: str = "U01ALICE",
    response_url: str | None = None,
) -> dict[str, Any]:
    """The ``block_actions`` payload for a click on a button of a message the bot posted.

    The button is looked up by ``action_id`` in the message's blocks; ``value`` overrides
    its value. ``response_url`` defaults to a hooks.slack.com-shaped URL; pass
    ``f"{sim_url}/_sim/responses/<token>"`` to have the simulator record what is sent back.
    """
    found = state.find_channel(channel)
    message = state.find_message(found.id, message_ts) if found else None
    if found is None or message is None:
        raise KeyError(f"no message {message_ts!r} in channel {channel!r}")
    user = state.users.get(user_id)
    if user is None:
        raise KeyError(f"no user {user_id!r} in the simulated workspace")
    block_id, button = _find_button(message.blocks, action_id)
    now = state.clock()
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "value": value if value is not None else button.get("value", ""),
        "text": button.get("text", {"type": "plain_text", "text": action_id}),
        "action_ts": f"{now:.6f}",
    }
    if "style" in button:
        action["style"] = button["style"]
    token = uuid.uuid4().hex[:24]
    return {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "verification-token-deprecated",
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": found.id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(now)}.{TEAM_ID}.{token}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": found.id, "name": found.name},
        "message": message.to_json(),
        "state": {"values": {}},
        "response_url": response_url
        or f"https://hooks.slack.com/actions/{TEAM_ID}/{int(now)}/{token}",
        "actions": [action],
    }


async def click(
    target_url: str,
    state: SlackState,
    *,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str | None = None,
    user_id: str = "U01ALICE",
    response_url: str | None = None,
    timestamp: int | None = None,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """POSTs a signed button click to ``target_url`` (rensei's interactivity endpoint)."""
    payload = build_interaction(
        state,
        channel=channel,
        message_ts=message_ts,
        action_id=action_id,
        value=value,
        user_id=user_id,
        response_url=response_url,
    )
    body = encode_payload(payload)
    headers = signed_headers(state.signing_secret, body, timestamp=timestamp)
    if client is not None:
        return await client.post(target_url, content=body, headers=headers)
    async with httpx.AsyncClient(timeout=10.0) as own:
        return await own.post(target_url, content=body, headers=headers)
