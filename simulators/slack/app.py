"""FastAPI app simulating the Slack Web API methods rensei calls, plus ``/_sim`` control routes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from simulators.slack.state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Faults,
    Message,
    SlackState,
)

MAX_TEXT = 40_000
MAX_BLOCKS = 50

Args = dict[str, Any]
Granted = tuple[str, ...]
Handler = Callable[[SlackState, Args, Granted], dict[str, Any]]


@dataclass(frozen=True)
class MethodSpec:
    """How Slack takes one method, from its page https://docs.slack.dev/reference/methods/<name>.

    ``json``: "application/json" is among its content types; ``required``: its required
    arguments besides ``token``; ``scopes``: the bot scopes it needs whatever the arguments
    (methods whose scope depends on the conversation type check it in their handler).
    """

    json: bool
    required: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()


SPECS: dict[str, MethodSpec] = {
    "chat.postMessage": MethodSpec(json=True, required=("channel",), scopes=("chat:write",)),
    "chat.update": MethodSpec(json=True, required=("channel", "ts"), scopes=("chat:write",)),
    # channel+timestamp missing is the documented `no_item_specified`, checked by the handler.
    "reactions.add": MethodSpec(json=True, required=("name",), scopes=("reactions:write",)),
    "chat.getPermalink": MethodSpec(json=False, required=("channel", "message_ts")),
    "conversations.list": MethodSpec(json=False),
    "conversations.history": MethodSpec(json=False, required=("channel",)),
    "conversations.replies": MethodSpec(json=False, required=("channel", "ts")),
    "usergroups.list": MethodSpec(json=False, scopes=("usergroups:read",)),
    "usergroups.users.list": MethodSpec(
        json=False, required=("usergroup",), scopes=("usergroups:read",)
    ),
    "auth.test": MethodSpec(json=False),
}


class SlackApiError(Exception):
    """An ``ok:false`` answer; HTTP 200 unless it is a rate limit or an injected status."""

    def __init__(
        self,
        code: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.extra = extra or {}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        sent = dict(headers or {})
        if self.retry_after is not None:
            sent["Retry-After"] = str(self.retry_after)
        body = {"ok": False, "error": self.code} | self.extra
        return JSONResponse(body, status_code=self.status, headers=sent)


def _missing_argument(name: str) -> SlackApiError:
    # Slack tells an absent required argument (`invalid_arguments`, with the field named in
    # response_metadata.messages) from one that is present but names nothing
    # (`channel_not_found`, ...): measured against slack.com in brekkylab/backlot#84; the
    # message text is the one Slack returns (vluzrmos/laravel-slack-api#38).
    messages = [f"[ERROR] missing required field: {name}"]
    return SlackApiError("invalid_arguments", extra={"response_metadata": {"messages": messages}})


def need_scope(granted: tuple[str, ...], scope: str) -> None:
    """Refuses the call as Slack does when the token lacks ``scope`` (NOTES §1.1)."""
    if scope not in granted:
        extra = {"needed": scope, "provided": ",".join(granted)}
        raise SlackApiError("missing_scope", extra=extra)


async def _read_args(request: Request, spec: MethodSpec) -> tuple[Args, str | None, list[str]]:
    """Reads the arguments the way Slack does; returns args, token and warnings.

    Arguments come from the query string, a form body, or (only for methods that accept it)
    a JSON body; "a mix of both GET and POST parameters" is allowed
    (https://docs.slack.dev/apis/web-api#basics). A JSON body sent to a method that does not
    take JSON is ignored, so its required arguments are missing. The token travels in the
    ``Authorization`` header or as a form field; never in a JSON body nor, for apps created
    since 2021-02-24, in the query string (NOTES §1.1).
    """
    content_type = request.headers.get("content-type", "").lower()
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    args: Args = {k: v for k, v in request.query_params.items() if k != "token"}
    raw = await request.body()
    warnings: list[str] = []
    if not raw:
        return args, token, warnings
    if content_type.startswith("application/json"):
        if "charset" not in content_type:
            warnings.append("missing_charset")
        if not spec.json:
            return args, token, warnings
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise SlackApiError("invalid_json") from exc
        if not isinstance(parsed, dict):
            raise SlackApiError("json_not_object")
        return args | parsed, token, warnings
    if content_type.startswith("application/x-www-form-urlencoded"):
        form: Args = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    elif content_type.startswith("multipart/form-data"):
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    else:
        raise SlackApiError("invalid_post_type")
    form_token = form.pop("token", None)
    return args | form, token or form_token, warnings


def _blocks(args: Args) -> list[Any] | None:
    """Blocks arrive as a JSON array (JSON bodies) or a JSON string (forms)."""
    value = args.get("blocks")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else []
        except ValueError as exc:
            raise SlackApiError("invalid_blocks_format") from exc
    if not isinstance(value, list):
        raise SlackApiError("invalid_blocks_format")
    if len(value) > MAX_BLOCKS:
        raise SlackApiError("invalid_blocks")
    return value


def _flag(args: Args, name: str) -> bool:
    value = args.get(name, False)
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1"})


def _post_message(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    channel = state.find_channel(str(args.get("channel", "")))
    if channel is None:
        raise SlackApiError("channel_not_found")
    text = str(args.get("text", "") or "")
    blocks = _blocks(args)
    if not text and not blocks and not args.get("attachments"):
        raise SlackApiError("no_text")
    if len(text) > MAX_TEXT:
        raise SlackApiError("msg_too_long")
    if channel.is_archived:
        raise SlackApiError("is_archived")
    if not channel.is_member:
        raise SlackApiError("not_in_channel")
    thread_ts = args.get("thread_ts") or None
    if thread_ts is not None:
        parent = state.find_message(channel.id, str(thread_ts))
        # Slack threads under the parent even when given a reply's ts.
        thread_ts = (parent.thread_ts or parent.ts) if parent else str(thread_ts)
    wait = state.take_post_token(channel.id)
    if wait:
        raise SlackApiError("ratelimited", status=429, retry_after=wait)
    message = Message(
        channel=channel.id,
        ts=state.next_ts(channel.id),
        text=text,
        blocks=blocks,
        thread_ts=thread_ts,
        reply_broadcast=_flag(args, "reply_broadcast"),
        metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
    )
    state.messages.append(message)
    return {"channel": channel.id, "ts": message.ts, "message": message.to_json()}


def _existing_message(state: SlackState, args: Args, ts_arg: str) -> Message:
    channel = state.find_channel(str(args.get("channel", "")), by_name=False)
    if channel is None:
        raise SlackApiError("channel_not_found")
    message = state.find_message(channel.id, str(args.get(ts_arg, "")))
    if message is None:
        raise SlackApiError("message_not_found")
    return message


def _update(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    message = _existing_message(state, args, "ts")
    if message.bot_id != BOT_ID:
        raise SlackApiError("cant_update_message")
    blocks = _blocks(args)
    text = args.get("text")
    if not text and not blocks and not message.blocks:
        raise SlackApiError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        raise SlackApiError("msg_too_long")
    edited_ts = f"{state.clock():.6f}"
    message.updates.append({"text": message.text, "blocks": message.blocks, "edited_ts": edited_ts})
    if text is not None:
        message.text = str(text)
    if blocks is not None:
        message.blocks = blocks or None
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_json(),
    }


def _react(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    if not args.get("channel") or not args.get("timestamp"):
        raise SlackApiError("no_item_specified")
    name = str(args.get("name", "")).strip(":")
    if not name:
        raise SlackApiError("invalid_name")
    message = _existing_message(state, args, "timestamp")
    if state.channels[message.channel].is_archived:
        raise SlackApiError("is_archived")
    users = message.reactions.setdefault(name, [])
    if BOT_USER_ID in users:
        raise SlackApiError("already_reacted")
    users.append(BOT_USER_ID)
    return {}


def _conversations(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    types = str(args.get("types") or "public_channel").split(",")
    want_private = "private_channel" in types
    want_public = "public_channel" in types
    # Each conversation type asks for its own read scope (docs: conversations.list, "Facts").
    if want_public:
        need_scope(granted, "channels:read")
    if want_private:
        need_scope(granted, "groups:read")
    listed = [
        c.to_json()
        for c in state.channels.values()
        if (want_private if c.is_private else want_public)
        and not (c.is_archived and _flag(args, "exclude_archived"))
    ]
    limit = int(args.get("limit") or 100)
    start = int(str(args.get("cursor") or "offset:0").removeprefix("offset:") or 0)
    page = listed[start : start + limit]
    cursor = f"offset:{start + limit}" if start + limit < len(listed) else ""
    return {"channels": page, "response_metadata": {"next_cursor": cursor}}


def _page(args: Args, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    limit = max(1, min(int(args.get("limit") or 100), 999))
    start = int(str(args.get("cursor") or "offset:0").removeprefix("offset:") or 0)
    cursor = f"offset:{start + limit}" if start + limit < len(items) else ""
    return items[start : start + limit], cursor


def _in_window(args: Args, ts: str) -> bool:
    """Slack's ``oldest``/``latest``/``inclusive`` filter on message timestamps."""
    inclusive = _flag(args, "inclusive")
    value = float(ts)
    if args.get("oldest"):
        oldest = float(args["oldest"])
        if value < oldest or (value == oldest and not inclusive):
            return False
    if args.get("latest"):
        latest = float(args["latest"])
        if value > latest or (value == latest and not inclusive):
            return False
    return True


def _readable_channel(state: SlackState, args: Args, granted: Granted) -> str:
    channel = state.find_channel(str(args.get("channel", "")), by_name=False)
    if channel is None:
        raise SlackApiError("channel_not_found")
    # conversations.history/replies: channels:history for public, groups:history for private.
    need_scope(granted, "groups:history" if channel.is_private else "channels:history")
    if not channel.is_member:
        raise SlackApiError("not_in_channel")
    return channel.id


def _history(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    """Top-level messages (and broadcast replies), newest first, as conversations.history."""
    channel = _readable_channel(state, args, granted)
    metadata = _flag(args, "include_all_metadata")
    found = [
        m.to_json(include_metadata=metadata)
        for m in reversed(state.messages)
        if m.channel == channel
        and (m.thread_ts is None or m.thread_ts == m.ts or m.reply_broadcast)
        and _in_window(args, m.ts)
    ]
    page, cursor = _page(args, found)
    return {
        "messages": page,
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


def _replies(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    """A thread: the parent first, then its replies oldest first, as conversations.replies."""
    channel = _readable_channel(state, args, granted)
    ts = str(args.get("ts") or "")
    parent = state.find_message(channel, ts)
    if parent is None:
        raise SlackApiError("thread_not_found")
    root = parent.thread_ts or parent.ts
    metadata = _flag(args, "include_all_metadata")
    found = [
        m.to_json(include_metadata=metadata)
        for m in state.messages
        if m.channel == channel and (m.ts == root or m.thread_ts == root) and _in_window(args, m.ts)
    ]
    page, cursor = _page(args, found)
    return {
        "messages": page,
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def _usergroups(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    with_users = _flag(args, "include_users")
    groups = []
    for group in state.usergroups.values():
        body: dict[str, Any] = {
            "id": group.id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": group.name,
            "description": "",
            "handle": group.handle,
            "is_external": False,
            "date_create": 1700000000,
            "date_update": 1700000000,
            "date_delete": 0,
            "auto_type": None,
            "user_count": len(group.users),
        }
        if with_users:
            body["users"] = list(group.users)
        groups.append(body)
    return {"usergroups": groups}


def _usergroup_users(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    group = state.usergroups.get(str(args.get("usergroup") or ""))
    if group is None:
        raise SlackApiError("no_such_subteam")
    return {"users": list(group.users)}


def _auth_test(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": "Rensei Sandbox",
        "user": "rensei",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "is_enterprise_install": False,
    }


def _permalink(state: SlackState, args: Args, granted: Granted) -> dict[str, Any]:
    message = _existing_message(state, args, "message_ts")
    link = (
        f"https://{TEAM_DOMAIN}.slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}"
    )
    if message.thread_ts is not None:
        link += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return {"channel": message.channel, "permalink": link}


HANDLERS: dict[str, Handler] = {
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "reactions.add": _react,
    "conversations.list": _conversations,
    "auth.test": _auth_test,
    "chat.getPermalink": _permalink,
    "conversations.history": _history,
    "conversations.replies": _replies,
    "usergroups.list": _usergroups,
    "usergroups.users.list": _usergroup_users,
}


async def _apply_faults(state: SlackState, method: str) -> None:
    faults = state.faults
    if not faults.applies_to(method):
        return
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    if faults.ratelimited > 0:
        faults.ratelimited -= 1
        raise SlackApiError("ratelimited", status=429, retry_after=faults.retry_after)
    if faults.error is not None and faults.error_count > 0:
        faults.error_count -= 1
        raise SlackApiError(faults.error, status=faults.error_status)


async def _call(state: SlackState, method: str, request: Request) -> JSONResponse:
    handler = HANDLERS.get(method)
    if handler is None:
        return SlackApiError("unknown_method", status=404).response()
    spec = SPECS[method]
    headers: dict[str, str] = {}
    try:
        await _apply_faults(state, method)
        args, token, warnings = await _read_args(request, spec)
        if not token:
            raise SlackApiError("not_authed")
        granted = state.tokens.get(token)
        if granted is None:
            raise SlackApiError("invalid_auth")
        headers = {
            "x-oauth-scopes": ",".join(granted),
            "x-accepted-oauth-scopes": ",".join(spec.scopes),
        }
        for scope in spec.scopes:
            need_scope(granted, scope)
        for name in spec.required:
            if name not in args:
                raise _missing_argument(name)
        body: dict[str, Any] = {"ok": True} | handler(state, args, granted)
        if method == "chat.postMessage" and state.faults.fail_after_post > 0:
            state.faults.fail_after_post -= 1
            raise SlackApiError("fatal_error", status=500)
    except SlackApiError as exc:
        return exc.response(headers)
    if warnings:
        body["warning"] = ",".join(warnings)
        body["response_metadata"] = body.get("response_metadata", {}) | {"warnings": warnings}
    return JSONResponse(body, headers=headers)


def _faults_from_json(body: dict[str, Any]) -> Faults:
    known = {f.name for f in fields(Faults)}
    unknown = set(body) - known
    if unknown:
        raise ValueError(f"unknown fault fields {sorted(unknown)}; known: {sorted(known)}")
    faults = Faults(**body)
    if faults.error is not None and faults.error_count == 0:
        faults.error_count = 1
    return faults


def create_app(state: SlackState | None = None) -> FastAPI:
    """Builds the simulator app; pass a ``SlackState`` to inspect or steer it from Python."""
    sim = state or SlackState()
    app = FastAPI(title="Slack Web API simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim

    # Slack takes every method by GET or POST (https://docs.slack.dev/apis/web-api#basics);
    # slack_sdk's AsyncWebClient sends read methods as GET with query fields.
    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        return await _call(sim, method, request)

    @app.get("/_sim/messages")
    async def list_messages(channel: str | None = None) -> list[dict[str, Any]]:
        chosen = sim.channel_messages(channel) if channel else sim.messages
        return [m.to_record() for m in chosen]

    @app.post("/_sim/faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            sim.set_faults(_faults_from_json(await request.json()))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    @app.delete("/_sim/faults")
    async def clear_faults() -> dict[str, bool]:
        sim.clear_faults()
        return {"ok": True}

    @app.post("/_sim/reset")
    async def reset() -> dict[str, bool]:
        sim.reset()
        return {"ok": True}

    @app.post("/_sim/responses/{token}")
    async def response_url(token: str, request: Request) -> dict[str, bool]:
        # Stands in for hooks.slack.com/actions/...: records what the app sends back.
        sim.responses.append({"token": token, "body": await request.json()})
        return {"ok": True}

    return app


def run_slack(port: int, host: str = "127.0.0.1", *, state: SlackState | None = None) -> None:
    """Serves the simulator with uvicorn until interrupted (the CLI's entry point)."""
    uvicorn.run(create_app(state), host=host, port=port, log_level="info")
