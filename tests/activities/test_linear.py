"""linear.issue.create against the Linear simulator over real HTTP."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.credentials import ChainedCredentials, StaticCredentials
from activities.linear import ISSUE_NAMESPACE, LinearActivities, issue_id_for
from simulators.linear import (
    SANDBOX_API_KEY,
    Faults,
    LinearState,
    RateLimit,
    create_app,
    stable_id,
)
from simulators.server import serve
from tests.activities.conftest import attempt, node_call

pytestmark = pytest.mark.asyncio
VERSION_AND_VARIANT = (0xF << 76) | (0x3 << 62)


def credentials(key: str = SANDBOX_API_KEY) -> ChainedCredentials:
    return ChainedCredentials([StaticCredentials({("default", "linear", "api_key"): key})])


@dataclass
class Sim:
    state: LinearState
    url: str
    acts: LinearActivities


@pytest_asyncio.fixture
async def sim(http: httpx.AsyncClient) -> AsyncIterator[Sim]:
    state = LinearState()
    async with serve(create_app(state)) as url:
        yield Sim(state, url, LinearActivities(credentials(), http, base_url=url))


def issue_call(**inputs: Any) -> Any:
    return node_call({"team": "ENG", "title": "Payments 5xx"} | inputs, step_id="ticket")


async def failure(env: ActivityEnvironment, acts: LinearActivities, call: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await env.run(acts.create_issue, call)
    return caught.value


async def test_create_issue_resolves_team_labels_and_priority(
    sim: Sim, env: ActivityEnvironment
) -> None:
    call = issue_call(description="**SEV-1**", priority="urgent", labels=["incident", "SEV1"])
    out = await env.run(sim.acts.create_issue, call)
    [issue] = sim.state.issues
    assert out == {"id": issue.id, "identifier": "ENG-1", "url": issue.url}
    assert issue.id == issue_id_for("wf-1/ticket")
    assert issue.input == {
        "id": issue.id,
        "teamId": stable_id("team", "ENG"),
        "title": "Payments 5xx",
        "description": "**SEV-1**",
        "priority": 1,
        "labelIds": [stable_id("label", "ENG", "incident"), stable_id("label", "ENG", "sev1")],
    }


async def test_workspace_level_labels_are_found(sim: Sim, env: ActivityEnvironment) -> None:
    await env.run(sim.acts.create_issue, issue_call(team="PAY", labels=["Security", "incident"]))
    [issue] = sim.state.issues
    assert issue.label_ids == [
        stable_id("label", "*", "security"),
        stable_id("label", "PAY", "incident"),
    ]


async def test_issue_id_is_deterministic_in_uuid_v4_form() -> None:
    first = uuid.UUID(issue_id_for("wf-1/ticket"))
    assert first.version == 4 and first.variant == uuid.RFC_4122
    assert issue_id_for("wf-1/ticket") == str(first)
    assert issue_id_for("wf-1/other") != str(first)
    # The rest of the bits are those of the name-based UUID of the idempotency key.
    name_based = uuid.uuid5(ISSUE_NAMESPACE, "wf-1/ticket")
    assert first.int & ~VERSION_AND_VARIANT == name_based.int & ~VERSION_AND_VARIANT


async def test_team_by_id_and_numeric_priority(sim: Sim, env: ActivityEnvironment) -> None:
    await env.run(sim.acts.create_issue, issue_call(team=stable_id("team", "OPS"), priority=3))
    [issue] = sim.state.issues
    assert issue.identifier == "OPS-1" and issue.priority == 3


async def test_retry_after_ambiguous_failure_creates_one_issue(
    sim: Sim, env: ActivityEnvironment
) -> None:
    sim.state.set_faults(Faults(fail_after_create=1))
    err = await failure(env, sim.acts, issue_call())
    assert err.type == "ProviderUnavailableError" and not err.non_retryable
    assert len(sim.state.issues) == 1  # stored, although the answer was a 500

    out = await attempt(env, 2).run(sim.acts.create_issue, issue_call())
    [issue] = sim.state.issues
    assert out == {"id": issue.id, "identifier": "ENG-1", "url": issue.url}


async def test_other_steps_get_other_issues(sim: Sim, env: ActivityEnvironment) -> None:
    await env.run(sim.acts.create_issue, issue_call())
    other = node_call({"team": "ENG", "title": "Follow-up"}, step_id="followup")
    await env.run(sim.acts.create_issue, other)
    assert [i.identifier for i in sim.state.issues] == ["ENG-1", "ENG-2"]


async def test_unknown_team_lists_valid_ones(sim: Sim, env: ActivityEnvironment) -> None:
    err = await failure(env, sim.acts, issue_call(team="ENGG"))
    assert err.type == "InvalidRequestError" and err.non_retryable
    assert err.message == "Linear team 'ENGG' not found; valid teams: ENG, OPS, PAY"


async def test_unknown_label_lists_valid_ones(sim: Sim, env: ActivityEnvironment) -> None:
    err = await failure(env, sim.acts, issue_call(labels=["incident", "outage"]))
    assert err.type == "InvalidRequestError" and err.non_retryable
    assert err.message == (
        "Linear label(s) 'outage' not found in team ENG nor at workspace level; valid labels: "
        "bug, customer-impact, incident, security, sev1, sev2"
    )
    assert sim.state.issues == []


async def test_bad_priority_is_an_input_error(sim: Sim, env: ActivityEnvironment) -> None:
    err = await failure(env, sim.acts, issue_call(priority="p0"))
    assert err.type == "InvalidRequestError" and "priority" in err.message


async def test_bad_key_is_permission_denied(
    sim: Sim, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    acts = LinearActivities(credentials("lin_api_revoked"), http, base_url=sim.url)
    err = await failure(env, acts, issue_call())
    assert err.type == "AuthenticationError" and err.non_retryable
    assert err.message.startswith("Permission denied: the Linear token was revoked or lacks scope")
    assert "lin_api" not in err.message


def step_timeout(env: ActivityEnvironment, seconds: float) -> ActivityEnvironment:
    """An attempt that started now with the step's timeout as its start-to-close timeout."""
    env.info = dataclasses.replace(
        env.info,
        started_time=datetime.now(UTC),
        start_to_close_timeout=timedelta(seconds=seconds),
        schedule_to_close_timeout=None,
    )
    return env


class Waits:
    """Stands in for asyncio.sleep and records what the activity waited and said."""

    def __init__(self, env: ActivityEnvironment) -> None:
        self.slept: list[float] = []
        self.beats: list[Any] = []
        env.on_heartbeat = lambda *details: self.beats.append(details[0])

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


STATE = re.compile(r"^rate-limited by Linear until (\d\d:\d\d) UTC$")


def hhmm(reset_ms: int) -> str:
    minute = -(-reset_ms // 60_000) * 60
    return datetime.fromtimestamp(minute, UTC).strftime("%H:%M")


async def test_ratelimit_before_the_step_deadline_waits_visibly_then_creates(
    http: httpx.AsyncClient, env: ActivityEnvironment
) -> None:
    state = LinearState(rate_limit=RateLimit(window_seconds=30))
    state.set_faults(Faults(ratelimited=1))
    reset = state_reset_ms(state)
    waits = Waits(step_timeout(env, 300))
    async with serve(create_app(state)) as url:
        acts = LinearActivities(credentials(), http, base_url=url, sleep=waits.sleep)
        out = await env.run(acts.create_issue, issue_call())
    [issue] = state.issues
    assert out["identifier"] == issue.identifier == "ENG-1"
    assert 20 < sum(waits.slept) <= 30 and max(waits.slept) <= 20
    assert len(waits.beats) == len(waits.slept)  # a heartbeat before each part of the wait
    match = STATE.match(waits.beats[0]["state"])
    assert match is not None and match.group(1) == hhmm(reset)


def state_reset_ms(state: LinearState) -> int:
    _, headers = state.take_request()
    return int(headers["X-RateLimit-Requests-Reset"])


async def test_ratelimit_reset_after_the_step_deadline_fails_the_step_now(
    sim: Sim, env: ActivityEnvironment, http: httpx.AsyncClient
) -> None:
    sim.state.set_faults(Faults(ratelimited=1))
    reset = state_reset_ms(sim.state)  # the simulator's hour-long window
    waits = Waits(step_timeout(env, 60))
    acts = LinearActivities(credentials(), http, base_url=sim.url, sleep=waits.sleep)
    err = await failure(env, acts, issue_call())
    assert err.type == "RateLimitedError" and err.non_retryable
    assert err.next_retry_delay is None
    assert err.message.startswith(f"rate-limited by Linear until {hhmm(reset)} UTC, after this ")
    assert "step's timeout ends at" in err.message
    assert waits.slept == [] and sim.state.issues == []


async def test_internal_error_is_retryable(sim: Sim, env: ActivityEnvironment) -> None:
    sim.state.set_faults(Faults(error_code="INTERNAL_ERROR", error_count=1))
    err = await failure(env, sim.acts, issue_call())
    assert err.type == "ProviderUnavailableError" and not err.non_retryable
    assert sim.state.issues == []


async def test_input_error_uses_the_presentable_message(sim: Sim, env: ActivityEnvironment) -> None:
    sim.state.set_faults(
        Faults(
            error_code="INPUT_ERROR",
            error_type="invalid input",
            error_message="Argument Validation Error",
            error_status=400,
            error_count=1,
        )
    )
    err = await failure(env, sim.acts, issue_call())
    assert err.type == "InvalidRequestError" and err.non_retryable
    assert err.message == "Linear refused the request: Argument Validation Error"


async def test_ratelimit_reset_header_in_ms(env: ActivityEnvironment) -> None:
    reset_ms = int((time.time() + 42) * 1000)
    body = {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]}
    answers = [
        httpx.Response(
            400,
            json=body,
            headers={
                "X-RateLimit-Requests-Remaining": "0",
                "X-RateLimit-Requests-Reset": str(reset_ms),
                "X-RateLimit-Complexity-Remaining": "90000",
                "X-RateLimit-Complexity-Reset": str(reset_ms + 3_000_000),
            },
        ),
        httpx.Response(503, text="busy"),
    ]
    waits = Waits(step_timeout(env, 300))

    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: answers.pop(0))) as http:
        acts = LinearActivities(
            credentials(), http, base_url="http://linear.test", sleep=waits.sleep
        )
        err = await failure(env, acts, issue_call())
    assert err.type == "ProviderUnavailableError"  # the request after the wait
    assert 40 < sum(waits.slept) <= 42  # the exhausted budget's reset, not the later one
    assert waits.beats[0]["state"] == f"rate-limited by Linear until {hhmm(reset_ms)} UTC"


async def test_http_429_reads_the_reset_headers(env: ActivityEnvironment) -> None:
    reset_ms = int((time.time() + 3600) * 1000)
    headers = {"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": str(reset_ms)}
    transport = httpx.MockTransport(lambda r: httpx.Response(429, headers=headers))
    async with httpx.AsyncClient(transport=transport) as http:
        acts = LinearActivities(credentials(), http, base_url="http://linear.test")
        err = await failure(step_timeout(env, 60), acts, issue_call())
    assert err.non_retryable
    assert err.message.startswith(f"rate-limited by Linear until {hhmm(reset_ms)} UTC")


async def test_errors_are_read_even_at_http_200(env: ActivityEnvironment) -> None:
    body = {
        "data": None,
        "errors": [
            {
                "message": "usage limit",
                "extensions": {
                    "code": "USAGE_LIMIT_EXCEEDED",
                    "userPresentableMessage": "You reached the free plan's issue limit.",
                },
            }
        ],
    }

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body))
    ) as http:
        acts = LinearActivities(credentials(), http, base_url="http://linear.test")
        err = await failure(env, acts, issue_call())
    assert err.type == "InvalidRequestError" and err.non_retryable
    assert "free plan's issue limit" in err.message
