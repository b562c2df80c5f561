"""The Slack simulator refuses what Slack refuses: JSON on read methods, bad auth, scopes, args."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from activities.slack.scopes import METHODS
from simulators.server import serve
from simulators.slack import SANDBOX_BOT_TOKEN, SlackState, create_app
from simulators.slack.app import SPECS
from simulators.slack.state import EXEC, INCIDENTS, SANDBOX_SCOPES

pytestmark = pytest.mark.asyncio

AUTH = {"Authorization": f"Bearer {SANDBOX_BOT_TOKEN}"}
JSON_UTF8 = "application/json; charset=utf-8"
NARROW = "xoxb-1000000001-2000000002-nArRoWtOkEn000000000001"


@dataclass
class Sim:
    state: SlackState
    url: str
    client: httpx.AsyncClient


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[Sim]:
    state = SlackState()
    async with serve(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
        yield Sim(state, url, client)


async def post_json(sim: Sim, method: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the old client did for every method: a JSON body with the bearer token."""
    response = await sim.client.post(
        f"/api/{method}", content=json.dumps(body), headers=AUTH | {"Content-Type": JSON_UTF8}
    )
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


async def posted(sim: Sim) -> str:
    answer = await post_json(sim, "chat.postMessage", {"channel": INCIDENTS, "text": "SEV-1"})
    assert answer["ok"] is True
    return str(answer["ts"])


async def test_json_body_on_a_read_method_is_ignored_like_slack(sim: Sim) -> None:
    ts = await posted(sim)
    answer = await post_json(sim, "chat.getPermalink", {"channel": INCIDENTS, "message_ts": ts})
    assert answer == {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": ["[ERROR] missing required field: channel"]},
    }
    history = await post_json(sim, "conversations.history", {"channel": INCIDENTS})
    assert history["error"] == "invalid_arguments"
    # conversations.list has no required argument: the JSON `types` is simply not read, so
    # the private channel the old client asked for is missing from the answer.
    listed = await post_json(sim, "conversations.list", {"types": "private_channel"})
    assert listed["ok"] is True and EXEC not in {c["id"] for c in listed["channels"]}


async def test_the_same_arguments_as_form_fields_work(sim: Sim) -> None:
    ts = await posted(sim)
    form = {"channel": INCIDENTS, "message_ts": ts}
    answer = (await sim.client.post("/api/chat.getPermalink", data=form, headers=AUTH)).json()
    assert answer["ok"] is True and answer["permalink"].endswith(ts.replace(".", ""))
    query = (await sim.client.get("/api/chat.getPermalink", params=form, headers=AUTH)).json()
    assert query == answer


async def test_absent_argument_is_invalid_arguments_empty_one_is_not_found(sim: Sim) -> None:
    missing = (await sim.client.post("/api/conversations.history", data={}, headers=AUTH)).json()
    assert missing["error"] == "invalid_arguments"
    empty = await sim.client.post("/api/conversations.history", data={"channel": ""}, headers=AUTH)
    assert empty.json() == {"ok": False, "error": "channel_not_found"}
    no_ts = await post_json(sim, "chat.update", {"channel": INCIDENTS, "text": "x"})
    assert no_ts["response_metadata"]["messages"] == ["[ERROR] missing required field: ts"]


async def test_authorization_header_is_checked(sim: Sim) -> None:
    none = await sim.client.post("/api/auth.test")
    assert none.json() == {"ok": False, "error": "not_authed"}
    wrong = await sim.client.post("/api/auth.test", headers={"Authorization": "Bearer xoxb-9"})
    assert wrong.json() == {"ok": False, "error": "invalid_auth"}
    not_bearer = await sim.client.post(
        "/api/auth.test", headers={"Authorization": SANDBOX_BOT_TOKEN}
    )
    assert not_bearer.json()["error"] == "not_authed"
    # A JSON body never carries the token (NOTES §1.1); a form field does.
    in_json = await sim.client.post(
        "/api/chat.postMessage",
        content=json.dumps({"token": SANDBOX_BOT_TOKEN, "channel": INCIDENTS, "text": "x"}),
        headers={"Content-Type": JSON_UTF8},
    )
    assert in_json.json()["error"] == "not_authed"
    in_form = await sim.client.post("/api/auth.test", data={"token": SANDBOX_BOT_TOKEN})
    assert in_form.json()["ok"] is True
    in_query = await sim.client.get("/api/auth.test", params={"token": SANDBOX_BOT_TOKEN})
    assert in_query.json()["error"] == "not_authed"


async def test_content_types(sim: Sim) -> None:
    plain = await sim.client.post(
        "/api/chat.postMessage",
        content=b"channel=C1",
        headers=AUTH | {"Content-Type": "text/plain"},
    )
    assert plain.json() == {"ok": False, "error": "invalid_post_type"}
    no_charset = await sim.client.post(
        "/api/chat.postMessage",
        content=json.dumps({"channel": INCIDENTS, "text": "x"}),
        headers=AUTH | {"Content-Type": "application/json"},
    )
    assert no_charset.json()["ok"] is True and no_charset.json()["warning"] == "missing_charset"
    broken = await sim.client.post(
        "/api/chat.postMessage", content=b"{", headers=AUTH | {"Content-Type": JSON_UTF8}
    )
    assert broken.json()["error"] == "invalid_json"


async def test_scopes_are_sent_and_enforced(sim: Sim) -> None:
    full = await sim.client.post("/api/auth.test", headers=AUTH)
    assert full.headers["x-oauth-scopes"] == ",".join(SANDBOX_SCOPES)
    sim.state.add_token(NARROW, ["chat:write", "channels:read"])
    narrow = {"Authorization": f"Bearer {NARROW}"}
    ok = await sim.client.post("/api/auth.test", headers=narrow)
    assert ok.json()["ok"] is True and ok.headers["x-oauth-scopes"] == "chat:write,channels:read"
    listed = await sim.client.post(
        "/api/conversations.list", data={"types": "public_channel,private_channel"}, headers=narrow
    )
    assert listed.json() == {
        "ok": False,
        "error": "missing_scope",
        "needed": "groups:read",
        "provided": "chat:write,channels:read",
    }
    groups = await sim.client.post("/api/usergroups.list", headers=narrow)
    assert groups.json()["needed"] == "usergroups:read"
    history = await sim.client.post(
        "/api/conversations.history", data={"channel": INCIDENTS}, headers=narrow
    )
    assert history.json()["needed"] == "channels:history"


async def test_our_method_table_matches_the_simulated_service() -> None:
    assert set(METHODS) <= set(SPECS)
    for method, ours in METHODS.items():
        assert ours.json == SPECS[method].json, method


async def test_slack_sdk_web_client_drives_every_method_we_use(sim: Sim) -> None:
    """The official SDK (stdlib transport) against the simulator, one call per method."""
    sdk = WebClient(token=SANDBOX_BOT_TOKEN, base_url=f"{sim.url}/api/")

    def drive() -> dict[str, Any]:
        out: dict[str, Any] = {"auth": sdk.auth_test()}
        posted = sdk.chat_postMessage(
            channel=INCIDENTS,
            text="SEV-1",
            metadata={"event_type": "rensei_step", "event_payload": {"key": "k"}},
        )
        ts = posted["ts"]
        reply = sdk.chat_postMessage(channel=INCIDENTS, text="reply", thread_ts=ts)
        out["update"] = sdk.chat_update(channel=INCIDENTS, ts=ts, text="SEV-1 (ack)", blocks=[])
        out["react"] = sdk.reactions_add(channel=INCIDENTS, timestamp=ts, name="eyes")
        out["permalink"] = sdk.chat_getPermalink(channel=INCIDENTS, message_ts=reply["ts"])
        out["list"] = sdk.conversations_list(types="public_channel,private_channel", limit=2)
        out["history"] = sdk.conversations_history(
            channel=INCIDENTS, include_all_metadata=True, oldest=ts, inclusive=True
        )
        out["replies"] = sdk.conversations_replies(channel=INCIDENTS, ts=ts)
        out["groups"] = sdk.usergroups_list()
        out["members"] = sdk.usergroups_users_list(usergroup="S01SRELEADS")
        try:
            sdk.chat_getPermalink(channel=INCIDENTS, message_ts="1.000001")
        except SlackApiError as exc:
            out["missing"] = exc.response["error"]
        out["ts"] = ts
        return out

    out = await asyncio.to_thread(drive)
    ts = out["ts"]
    assert out["auth"]["user_id"] == "U01RENSEIBOT"
    assert out["auth"].headers["x-oauth-scopes"] == ",".join(SANDBOX_SCOPES)
    assert out["update"]["text"] == "SEV-1 (ack)"
    assert out["react"]["ok"] is True
    assert sim.state.messages[0].reactions == {"eyes": ["U01RENSEIBOT"]}
    assert out["permalink"]["permalink"].endswith(f"?thread_ts={ts}&cid={INCIDENTS}")
    assert len(out["list"]["channels"]) == 2 and out["list"]["response_metadata"]["next_cursor"]
    [top] = out["history"]["messages"]
    assert top["ts"] == ts and top["metadata"]["event_payload"] == {"key": "k"}
    assert [m["text"] for m in out["replies"]["messages"]] == ["SEV-1 (ack)", "reply"]
    assert [g["handle"] for g in out["groups"]["usergroups"]] == ["sre-leads"]
    assert out["members"]["users"] == ["U01ALICE", "U01BOB"]
    assert out["missing"] == "message_not_found"
