"""The worker registers every provider activity, and the catalogue describes their nodes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from temporalio import activity

from activities.catalogue import default_catalogue
from settings import Settings
from worker import default_activities

pytestmark = pytest.mark.asyncio


async def test_default_activities_are_registered_under_node_names() -> None:
    async with httpx.AsyncClient() as http:
        found = default_activities(Settings(agents={"a": "http://a.test"}), http=http)
    names = sorted(activity._Definition.must_from_callable(fn).name or "" for fn in found)
    assert names == [
        "agent.cancel",
        "agent.get",
        "agent.send",
        "debug.echo",
        "http.request",
        "linear.issue.create",
        "slack.approval.post",
        "slack.approval.resolve",
        "slack.post",
        "slack.usergroup.members",
    ]


async def test_catalogue_entries() -> None:
    nodes = default_catalogue().nodes
    post = nodes["slack.post"]
    assert (post.kind, post.timeout, post.retry.maximum_attempts) == (
        "activity",
        timedelta(seconds=30),
        5,
    )
    assert post.retry.maximum_interval == timedelta(minutes=1)
    assert set(post.retry.non_retryable_error_types) == {
        "AuthenticationError",
        "InvalidRequestError",
        "NotFoundError",
    }
    assert nodes["linear.issue.create"].retry == post.retry
    assert (nodes["agent.dispatch"].kind, nodes["agent.dispatch"].branches) == (
        "agent",
        ("onTimeout",),
    )
    assert nodes["approval"].kind == "approval"
    assert nodes["approval"].branches == ("onApproved", "onRejected", "onTimeout")
    assert set(nodes["approval"].output_model.model_fields) == {  # type: ignore[union-attr]
        "decision",
        "by",
        "at",
        "reason",
        "branch",
    }
