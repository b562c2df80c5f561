"""Slack activities against the Slack simulator over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.credentials import ChainedCredentials, StaticCredentials
from activities.slack import (
    ApprovalPostInput,
    ApprovalResolveInput,
    SlackActivities,
    SlackPostOutput,
    UsergroupMembersInput,
)
from activities.slack.client import SlackClient
from activities.slack.scopes import METHODS
from simulators.server import serve
from simulators.slack import SANDBOX_BOT_TOKEN, Faults, SlackState, create_app
from simulators.slack.state import INCIDENTS
from tests.activities.conftest import attempt, node_call

pytestmark = pytest.mark.asyncio


def credentials(token: str | None = SANDBOX_BOT_TOKEN) -> ChainedCredentials:
    values = {} if token is None else {("default", "slack", "bot_token"): token}
    return ChainedCredentials([StaticCredentials(values)])


@dataclass
class Sim:
    state: SlackState
    url: str
    acts: SlackActivities


@pytest_asyncio.fixture
async def sim(http: httpx.AsyncClient) -> AsyncIterator[Sim]:
    state = SlackState()
    async with serve(create_app(state)) as url:
        yield Sim(state, url, SlackActivities(credentials(), http, base_url=url))


async def failure(env: ActivityEnvironment, fn: object, arg: object) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await env.run(fn, arg)  # type: ignore[arg-type]
    return caught.value


async def test_post_returns_channel_ts_and_permalink(sim: Sim, env: ActivityEnvironment) -> None:
    out = await env.run(sim.acts.post, node_call({"channel": "#incidents", "message": "SEV-1"}))
    [message] = sim.state.messages
    assert out == {
        "channel": INCIDENTS,
        "ts": message.ts,
        "permalink": f"https://rensei-sandbox.slack.com/archives/{INCIDENTS}/p"
        + message.ts.replace(".", ""),
    }
    assert message.text == "SEV-1"
    assert message.metadata == {
        "event_type": "rensei_step",
        "event_payload": {"key": "wf-1/notify"},
    }


async def test_post_in_thread_by_ts_and_ts_like_thread_of(
    sim: Sim, env: ActivityEnvironment
) -> None:
    parent = await env.run(sim.acts.post, node_call({"channel": "incidents", "message": "p"}))
    by_ts = node_call({"channel": INCIDENTS, "message": "a", "threadTs": parent["ts"]}, step_id="a")
    alias = node_call({"channel": INCIDENTS, "message": "b", "threadOf": parent["ts"]}, step_id="b")
    await env.run(sim.acts.post, by_ts)
    await env.run(sim.acts.post, alias)
    assert [m.thread_ts for m in sim.state.messages] == [None, parent["ts"], parent["ts"]]


async def test_unresolved_thread_of_is_a_clear_input_error(
    sim: Sim, env: ActivityEnvironment
) -> None:
    call = node_call({"channel": "#incidents", "message": "x", "threadOf": "announce"})
    err = await failure(env, sim.acts.post, call)
    assert err.type == "InvalidRequestError" and err.non_retryable
    assert "threadOf 'announce'" in err.message and "$steps.announce.ts" in err.message
    assert sim.state.messages == []


async def test_unknown_input_is_rejected(sim: Sim, env: ActivityEnvironment) -> None:
    err = await failure(env, sim.acts.post, node_call({"channel": "#x", "mesage": "typo"}))
    assert err.type == "InvalidRequestError" and err.non_retryable
    assert "mesage" in err.message and "message" in err.message


async def test_revoked_token_is_permission_denied(
    sim: Sim, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = SlackActivities(credentials("xoxb-revoked-0001"), http, base_url=sim.url)
    err = await failure(env, acts.post, node_call({"channel": "#incidents", "message": "x"}))
    assert err.type == "AuthenticationError" and err.non_retryable
    assert err.message.startswith(
        "Permission denied: the Slack token was revoked or lacks scope; "
        "re-authorize in Settings -> Integrations"
    )
    assert "xoxb" not in err.message


async def test_missing_token_says_where_to_connect(
    sim: Sim, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = SlackActivities(credentials(None), http, base_url=sim.url)
    err = await failure(env, acts.post, node_call({"channel": "#incidents", "message": "x"}))
    assert err.type == "MissingCredentialError" and err.non_retryable
    assert "Settings -> Integrations" in err.message


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (
            "#nope",
            "Slack channel '#nope' not found: check the name and that the rensei app is in it",
        ),
        ("#platform", "the rensei app is not in Slack channel '#platform'"),
        ("#old-incidents", "Slack channel '#old-incidents' is archived"),
    ],
)
async def test_channel_problems_name_the_channel(
    sim: Sim, env: ActivityEnvironment, channel: str, expected: str
) -> None:
    err = await failure(env, sim.acts.post, node_call({"channel": channel, "message": "x"}))
    assert err.type == "InvalidRequestError" and err.non_retryable
    assert err.message.startswith(expected)


async def test_429_is_retryable_after_retry_after(sim: Sim, env: ActivityEnvironment) -> None:
    sim.state.set_faults(Faults(ratelimited=1, retry_after=7))
    err = await failure(env, sim.acts.post, node_call({"channel": "#incidents", "message": "x"}))
    assert err.type == "RateLimitedError" and not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=7)
    assert sim.state.messages == []


async def test_5xx_is_retryable(sim: Sim, env: ActivityEnvironment) -> None:
    sim.state.set_faults(Faults(error="internal_error", error_count=1, error_status=503))
    err = await failure(env, sim.acts.post, node_call({"channel": "#incidents", "message": "x"}))
    assert err.type == "ProviderUnavailableError" and not err.non_retryable
    assert err.next_retry_delay is None


async def test_retry_after_ambiguous_failure_posts_exactly_once(
    sim: Sim, env: ActivityEnvironment
) -> None:
    sim.state.set_faults(Faults(fail_after_post=1))
    call = node_call({"channel": "#incidents", "message": "SEV-1: payments down"})
    err = await failure(env, sim.acts.post, call)
    assert err.type == "ProviderUnavailableError" and not err.non_retryable
    assert len(sim.state.messages) == 1  # stored, although the answer was a 500

    out = await attempt(env, 2).run(sim.acts.post, call)
    [message] = sim.state.messages
    assert out["ts"] == message.ts and out["channel"] == INCIDENTS
    assert message.text == "SEV-1: payments down"


async def test_retry_without_earlier_post_posts_once(sim: Sim, env: ActivityEnvironment) -> None:
    sim.state.add_user_message("#incidents", "chatter")
    other = node_call({"channel": "#incidents", "message": "other step"}, step_id="other")
    await env.run(sim.acts.post, other)
    out = await attempt(env, 3).run(
        sim.acts.post, node_call({"channel": "#incidents", "message": "mine"})
    )
    texts = [m.text for m in sim.state.messages]
    assert texts == ["chatter", "other step", "mine"]
    assert out["ts"] == sim.state.messages[-1].ts


async def test_threaded_retry_finds_the_reply(sim: Sim, env: ActivityEnvironment) -> None:
    parent = await env.run(sim.acts.post, node_call({"channel": "#incidents", "message": "p"}))
    sim.state.set_faults(Faults(fail_after_post=1))
    reply = node_call(
        {"channel": "#incidents", "message": "r", "threadTs": parent["ts"]}, step_id="reply"
    )
    await failure(env, sim.acts.post, reply)
    out = await attempt(env, 2).run(sim.acts.post, reply)
    assert [m.text for m in sim.state.messages] == ["p", "r"]
    assert out["ts"] == sim.state.messages[1].ts


def approval(key: str = "wf-9/gate") -> ApprovalPostInput:
    return ApprovalPostInput(
        channel="#exec",
        message="Restart the payments database?",
        approvers=["U01ALICE", "@sre-leads"],
        idempotency_key=key,
        workflow_id="wf-9",
        run_id="run-9",
        step_id="gate",
    )


async def test_approval_post_has_bound_buttons_exactly_once(
    sim: Sim, env: ActivityEnvironment
) -> None:
    sim.state.set_faults(Faults(fail_after_post=1))
    await failure(env, sim.acts.approval_post, approval())
    out = await attempt(env, 2).run(sim.acts.approval_post, approval())
    assert isinstance(out, SlackPostOutput)
    [message] = sim.state.messages
    assert out.ts == message.ts and out.channel == "C01EXEC"
    blocks = message.blocks or []
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert actions["block_id"] == "rensei-approval"
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("approve", "wf-9|run-9|gate"),
        ("reject", "wf-9|run-9|gate"),
    ]
    assert "<@U01ALICE>, @sre-leads" in str(blocks)


@pytest.mark.parametrize(
    ("decision", "by", "reason", "expected"),
    [
        (
            "approved",
            "U01ALICE",
            "looks safe",
            "Approved by <@U01ALICE> at 2026-11-26T10:00:00Z: looks safe",
        ),
        ("rejected", "U01BOB", None, "Rejected by <@U01BOB> at 2026-11-26T10:00:00Z"),
        ("timeout", None, None, "Timed out at 2026-11-26T10:00:00Z: no decision was made"),
    ],
)
async def test_approval_resolve_replaces_the_buttons(
    sim: Sim,
    env: ActivityEnvironment,
    decision: str,
    by: str | None,
    reason: str | None,
    expected: str,
) -> None:
    posted = await env.run(sim.acts.approval_post, approval())
    resolve = ApprovalResolveInput(
        channel=posted.channel,
        ts=posted.ts,
        decision=decision,  # type: ignore[arg-type]
        by=by,
        at="2026-11-26T10:00:00Z",
        reason=reason,
    )
    out = await env.run(sim.acts.approval_resolve, resolve)
    [message] = sim.state.messages
    assert out.ts == posted.ts and message.text == expected
    blocks = message.blocks or []
    assert all(b.get("block_id") != "rensei-approval" for b in blocks)
    assert blocks[0]["text"]["text"] == "Restart the payments database?"
    assert blocks[-1]["text"]["text"] == expected


async def test_usergroup_members(sim: Sim, env: ActivityEnvironment) -> None:
    found = await env.run(sim.acts.usergroup_members, UsergroupMembersInput(handle="@sre-leads"))
    assert (found.id, found.handle, found.users) == (
        "S01SRELEADS",
        "sre-leads",
        ["U01ALICE", "U01BOB"],
    )
    err = await failure(env, sim.acts.usergroup_members, UsergroupMembersInput(handle="@nobody"))
    assert err.type == "InvalidRequestError"
    assert "'@nobody' not found (known: @sre-leads)" in err.message


async def test_retry_after_http_date(env: ActivityEnvironment) -> None:
    when = "Wed, 21 Oct 2099 07:28:00 GMT"

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"ok": False, "error": "ratelimited"}
        return httpx.Response(429, json=body, headers={"Retry-After": when})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        acts = SlackActivities(credentials(), http, base_url="http://slack.test")
        err = await failure(env, acts.post, node_call({"channel": "#incidents", "message": "x"}))
    assert err.type == "RateLimitedError" and not err.non_retryable
    assert err.next_retry_delay is not None
    assert err.next_retry_delay > timedelta(days=365 * 70)


async def test_timeout_is_retryable(env: ActivityEnvironment) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        acts = SlackActivities(credentials(), http, base_url="http://slack.test")
        err = await failure(env, acts.post, node_call({"channel": "#incidents", "message": "x"}))
    assert err.type == "ProviderUnavailableError" and not err.non_retryable
    assert err.message == "Slack timed out (ReadTimeout)"


async def test_each_method_is_sent_the_way_slack_documents_it(sim: Sim) -> None:
    """JSON only where Slack accepts JSON; read methods get form fields (which the strict
    simulator requires: it ignores a JSON body there, as Slack does)."""
    seen: dict[str, tuple[str, bytes]] = {}

    async def record(request: httpx.Request) -> None:
        seen[request.url.path.rsplit("/", 1)[-1]] = (
            request.headers.get("content-type", ""),
            request.content,
        )

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        client = SlackClient(http, base_url=sim.url, token=SANDBOX_BOT_TOKEN)
        private = await client.channel_id("#exec")
        posted = await client.post_message(INCIDENTS, text="SEV-1", blocks=[])
        await client.update(INCIDENTS, posted["ts"], text="SEV-1 (ack)")
        link = await client.permalink(INCIDENTS, posted["ts"])
        found = await client.message(INCIDENTS, posted["ts"])
        assert await client.find_step_message(INCIDENTS, "nope", oldest=0.0) is None
        thread = await client.find_step_message(
            INCIDENTS, "nope", oldest=0.0, thread_ts=posted["ts"]
        )
        assert thread is None
        group, members = await client.usergroup_members("@sre-leads")
    assert private == "C01EXEC" and link.endswith(posted["ts"].replace(".", ""))
    assert found is not None and found["text"] == "SEV-1 (ack)"
    assert (group, members) == ("S01SRELEADS", ["U01ALICE", "U01BOB"])
    for method, (content_type, body) in seen.items():
        if METHODS[method].json:
            assert content_type == "application/json; charset=utf-8", method
        elif body:
            assert content_type == "application/x-www-form-urlencoded", method
        else:  # usergroups.list: no arguments, no body
            assert content_type == "", method
    assert set(seen) == set(METHODS) - {"auth.test"}
    assert b"include_all_metadata=1" in seen["conversations.history"][1]


async def test_missing_scope_names_the_scope(sim: Sim, env: ActivityEnvironment) -> None:
    sim.state.add_token("xoxb-narrow-1", ["chat:write"])
    async with httpx.AsyncClient() as http:
        acts = SlackActivities(credentials("xoxb-narrow-1"), http, base_url=sim.url)
        err = await failure(env, acts.usergroup_members, UsergroupMembersInput(handle="@sre"))
    assert err.type == "AuthenticationError" and err.non_retryable
    assert err.message == (
        "Permission denied: the Slack token lacks the scope 'usergroups:read' that "
        "usergroups.list needs; add it under OAuth & Permissions, reinstall the app "
        "and reconnect it"
    )
