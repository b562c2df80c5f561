"""linear.issue.create against the Linear simulator over real HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.credentials import ChainedCredentials, StaticCredentials
from activities.linear import ISSUE_NAMESPACE, LinearActivities, issue_id_for
from simulators.linear import SANDBOX_API_KEY, Faults, LinearState, create_app, stable_id
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


async def test_ratelimited_waits_for_the_reset(sim: Sim, env: ActivityEnvironment) -> None:
    sim.state.set_faults(Faults(ratelimited=1))
    err = await failure(env, sim.acts, issue_call())
    assert err.type == "RateLimitedError" and not err.non_retryable
    # The simulator's window is an hour from its start, in ms epoch.
    assert err.next_retry_delay is not None
    assert timedelta(minutes=59) < err.next_retry_delay <= timedelta(hours=1)


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

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {
            "X-RateLimit-Requests-Remaining": "0",
            "X-RateLimit-Requests-Reset": str(reset_ms),
            "X-RateLimit-Complexity-Remaining": "90000",
            "X-RateLimit-Complexity-Reset": str(reset_ms + 3_000_000),
        }
        return httpx.Response(400, json=body, headers=headers)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        acts = LinearActivities(credentials(), http, base_url="http://linear.test")
        err = await failure(env, acts, issue_call())
    assert err.type == "RateLimitedError"
    assert err.next_retry_delay is not None
    assert timedelta(seconds=40) < err.next_retry_delay <= timedelta(seconds=42)


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
