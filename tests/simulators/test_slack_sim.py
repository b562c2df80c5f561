"""The Slack simulator over real HTTP: envelope, errors, limits, faults, signed clicks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from slack_sdk.signature import SignatureVerifier

from simulators.server import serve
from simulators.slack import (
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    Faults,
    RateLimit,
    SlackState,
    build_interaction,
    click,
    create_app,
    encode_payload,
    sign,
    signed_headers,
)
from simulators.slack.app import SPECS
from simulators.slack.state import GENERAL, INCIDENTS

AUTH = {"Authorization": f"Bearer {SANDBOX_BOT_TOKEN}"}
JSON_UTF8 = "application/json; charset=utf-8"

# The official vector (NOTES §1.5).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TS = "1531420618"
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibI"
    "GlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FixedClock:
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[tuple[SlackState, httpx.AsyncClient]]:
    state = SlackState()
    async with serve(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
        yield state, client


async def call(client: httpx.AsyncClient, method: str, **body: Any) -> httpx.Response:
    """Calls ``method`` the way Slack documents it: JSON where it accepts JSON, else a form."""
    if SPECS[method].json:
        headers = AUTH | {"Content-Type": JSON_UTF8}
        return await client.post(f"/api/{method}", content=json.dumps(body), headers=headers)
    form = {
        k: json.dumps(v) if isinstance(v, bool | list | dict) else str(v) for k, v in body.items()
    }
    return await client.post(f"/api/{method}", data=form, headers=AUTH)


@pytest.mark.asyncio
async def test_post_message_by_name_returns_official_shape(
    sim: tuple[SlackState, httpx.AsyncClient],
) -> None:
    state, client = sim
    response = await call(client, "chat.postMessage", channel="#incidents", text="INC-12 opened")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["channel"] == INCIDENTS
    assert body["message"]["ts"] == body["ts"]
    assert body["message"]["text"] == "INC-12 opened"
    assert body["message"]["type"] == "message"
    seconds, micros = body["ts"].split(".")
    assert seconds.isdigit() and len(micros) == 6
    assert [m.text for m in state.messages] == ["INC-12 opened"]


@pytest.mark.asyncio
async def test_ts_strictly_increases_and_threads(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    state, client = sim
    stamps = []
    for i in range(5):
        body = (await call(client, "chat.postMessage", channel=INCIDENTS, text=f"m{i}")).json()
        stamps.append(body["ts"])
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 5
    reply = await call(client, "chat.postMessage", channel=INCIDENTS, text="r", thread_ts=stamps[0])
    nested = await call(
        client, "chat.postMessage", channel=INCIDENTS, text="r2", thread_ts=reply.json()["ts"]
    )
    assert reply.json()["message"]["thread_ts"] == stamps[0]
    assert nested.json()["message"]["thread_ts"] == stamps[0]
    assert state.messages[-1].thread_ts == stamps[0]


@pytest.mark.asyncio
async def test_form_body_with_token_field(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    state, client = sim
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    form = {"token": SANDBOX_BOT_TOKEN, "channel": "general", "blocks": json.dumps(blocks)}
    body = (await client.post("/api/chat.postMessage", data=form)).json()
    assert body["ok"] is True and body["channel"] == GENERAL
    assert state.messages[0].blocks == blocks


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("headers", "payload", "error"),
    [
        ({}, {"channel": "#incidents", "text": "x"}, "not_authed"),
        (
            {"Authorization": "Bearer xoxb-wrong"},
            {"channel": "#incidents", "text": "x"},
            "invalid_auth",
        ),
        (AUTH, {"channel": "#nope", "text": "x"}, "channel_not_found"),
        (AUTH, {"channel": "#platform", "text": "x"}, "not_in_channel"),
        (AUTH, {"channel": "#old-incidents", "text": "x"}, "is_archived"),
        (AUTH, {"channel": "#incidents"}, "no_text"),
        (AUTH, {"channel": "#incidents", "text": "x" * 40_001}, "msg_too_long"),
    ],
)
async def test_post_message_errors_are_http_200(
    sim: tuple[SlackState, httpx.AsyncClient],
    headers: dict[str, str],
    payload: dict[str, Any],
    error: str,
) -> None:
    state, client = sim
    response = await client.post(
        "/api/chat.postMessage",
        content=json.dumps(payload),
        headers=headers | {"Content-Type": JSON_UTF8},
    )
    assert response.status_code == 200
    assert response.json() == {"ok": False, "error": error}
    assert state.messages == []


@pytest.mark.asyncio
async def test_json_without_charset_warns(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    _, client = sim
    response = await client.post(
        "/api/auth.test", json={}, headers=AUTH | {"Content-Type": "application/json"}
    )
    body = response.json()
    assert body["ok"] is True and body["warning"] == "missing_charset"
    assert body["response_metadata"]["warnings"] == ["missing_charset"]
    assert body["user_id"] == "U01RENSEIBOT"


@pytest.mark.asyncio
async def test_json_token_in_body_is_not_accepted(
    sim: tuple[SlackState, httpx.AsyncClient],
) -> None:
    _, client = sim
    response = await client.post(
        "/api/auth.test",
        content=json.dumps({"token": SANDBOX_BOT_TOKEN}),
        headers={"Content-Type": JSON_UTF8},
    )
    assert response.json() == {"ok": False, "error": "not_authed"}


@pytest.mark.asyncio
async def test_update_keeps_history_and_rules(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    state, client = sim
    posted = (await call(client, "chat.postMessage", channel="#incidents", text="v1")).json()
    by_name = await call(client, "chat.update", channel="#incidents", ts=posted["ts"], text="v2")
    assert by_name.json() == {"ok": False, "error": "channel_not_found"}
    missing = await call(client, "chat.update", channel=INCIDENTS, ts="1.000001", text="v2")
    assert missing.json() == {"ok": False, "error": "message_not_found"}
    updated = (
        await call(client, "chat.update", channel=INCIDENTS, ts=posted["ts"], text="v2")
    ).json()
    assert updated["ok"] is True and updated["text"] == "v2" and updated["ts"] == posted["ts"]
    assert state.messages[0].text == "v2"
    assert [u["text"] for u in state.messages[0].updates] == ["v1"]
    human = state.add_user_message("#incidents", "hello")
    refused = await call(client, "chat.update", channel=INCIDENTS, ts=human.ts, text="x")
    assert refused.json() == {"ok": False, "error": "cant_update_message"}


@pytest.mark.asyncio
async def test_reactions_and_already_reacted(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    state, client = sim
    posted = (await call(client, "chat.postMessage", channel="#incidents", text="hi")).json()
    args = {"channel": INCIDENTS, "timestamp": posted["ts"], "name": "white_check_mark"}
    assert (await call(client, "reactions.add", **args)).json() == {"ok": True}
    again = await call(client, "reactions.add", **args)
    assert again.json() == {"ok": False, "error": "already_reacted"}
    assert state.messages[0].reactions == {"white_check_mark": ["U01RENSEIBOT"]}


@pytest.mark.asyncio
async def test_conversations_list_and_permalink(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    _, client = sim
    public = (await call(client, "conversations.list", exclude_archived=True)).json()
    names = {c["name"] for c in public["channels"]}
    assert names == {"incidents", "payments-oncall", "platform", "general"}
    both = await call(client, "conversations.list", types="public_channel,private_channel", limit=4)
    first = both.json()
    cursor = first["response_metadata"]["next_cursor"]
    second = (
        await call(
            client, "conversations.list", types="public_channel,private_channel", cursor=cursor
        )
    ).json()
    everything = {c["name"] for c in first["channels"] + second["channels"]}
    assert {"exec", "old-incidents"} <= everything and len(everything) == 6
    posted = (await call(client, "chat.postMessage", channel="#exec", text="brief")).json()
    link = (
        await call(client, "chat.getPermalink", channel=posted["channel"], message_ts=posted["ts"])
    ).json()
    assert link["permalink"].endswith(
        f"/archives/{posted['channel']}/p{posted['ts'].replace('.', '')}"
    )


@pytest.mark.asyncio
async def test_post_rate_limit_per_channel(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    state, client = sim
    state.rate_limit = RateLimit(per_second=0.5, burst=2)
    codes = [
        (await call(client, "chat.postMessage", channel="#incidents", text=str(i))).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    limited = await call(client, "chat.postMessage", channel="#incidents", text="again")
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    assert limited.headers["Retry-After"] == "2"
    other = await call(client, "chat.postMessage", channel="#general", text="elsewhere")
    assert other.status_code == 200
    assert len(state.messages) == 3


@pytest.mark.asyncio
async def test_faults_from_python_and_http(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    state, client = sim
    state.set_faults(Faults(ratelimited=1, retry_after=7, method="chat.postMessage"))
    assert (await call(client, "auth.test")).json()["ok"] is True
    limited = await call(client, "chat.postMessage", channel="#incidents", text="x")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert (
        await call(client, "chat.postMessage", channel="#incidents", text="x")
    ).status_code == 200

    answer = await client.post("/_sim/faults", json={"error": "fatal_error", "error_count": 2})
    assert answer.json() == {"ok": True}
    for _ in range(2):
        failed = await call(client, "chat.postMessage", channel="#incidents", text="x")
        assert failed.status_code == 200 and failed.json() == {"ok": False, "error": "fatal_error"}
    assert (await call(client, "chat.postMessage", channel="#incidents", text="x")).json()["ok"]

    await client.post("/_sim/faults", json={"error": "internal_error", "error_status": 500})
    assert (await call(client, "auth.test")).status_code == 500
    bad = await client.post("/_sim/faults", json={"nonsense": 1})
    assert bad.status_code == 400

    listed = (await client.get("/_sim/messages", params={"channel": "#incidents"})).json()
    assert [m["text"] for m in listed] == ["x", "x"]
    assert all(m["channel"] == INCIDENTS for m in listed)


def test_sign_matches_official_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    verifier = SignatureVerifier(VECTOR_SECRET, clock=FixedClock(float(VECTOR_TS)))
    assert verifier.is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE)


def test_signed_headers_verify_with_slack_sdk() -> None:
    body = encode_payload({"type": "block_actions", "text": "a&b=c ünï"})
    headers = signed_headers(SANDBOX_SIGNING_SECRET, body, timestamp=1_700_000_000)
    verifier = SignatureVerifier(SANDBOX_SIGNING_SECRET, clock=FixedClock(1_700_000_000))
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"x", headers)
    assert json.loads(parse_qs(body.decode())["payload"][0])["text"] == "a&b=c ünï"


APPROVAL_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Restart db?*"}},
    {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "wf-123:step-4",
            }
        ],
    },
]


@pytest.mark.asyncio
async def test_click_posts_signed_block_actions(sim: tuple[SlackState, httpx.AsyncClient]) -> None:
    state, client = sim
    posted = (
        await call(
            client,
            "chat.postMessage",
            channel="#incidents",
            text="Approve?",
            blocks=APPROVAL_BLOCKS,
        )
    ).json()
    received: list[tuple[bytes, dict[str, str]]] = []
    receiver = FastAPI()

    @receiver.post("/api/webhooks/slack/interactions")
    async def interactions(request: Request) -> dict[str, bool]:
        received.append((await request.body(), dict(request.headers)))
        return {"ok": True}

    async with serve(receiver) as target:
        response = await click(
            f"{target}/api/webhooks/slack/interactions",
            state,
            channel=posted["channel"],
            message_ts=posted["ts"],
            action_id="approve",
            response_url=f"{client.base_url}/_sim/responses/abc",
        )
    assert response.status_code == 200
    [(raw, headers)] = received
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SANDBOX_SIGNING_SECRET).is_valid_request(raw, headers)
    payload = json.loads(parse_qs(raw.decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": INCIDENTS,
        "is_ephemeral": False,
    }
    [action] = payload["actions"]
    assert action["action_id"] == "approve" and action["value"] == "wf-123:step-4"
    assert action["block_id"] == "approval" and action["style"] == "primary"
    assert payload["user"]["id"] == "U01ALICE"

    reply = await client.post(
        payload["response_url"], json={"replace_original": True, "text": "ok"}
    )
    assert reply.status_code == 200
    assert state.responses == [{"token": "abc", "body": {"replace_original": True, "text": "ok"}}]


def test_build_interaction_rejects_unknown_message() -> None:
    with pytest.raises(KeyError, match="no message"):
        build_interaction(SlackState(), channel="#incidents", message_ts="1.000001", action_id="a")
