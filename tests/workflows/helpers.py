"""Fake nodes registered under real node names, and a catalogue that knows them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.catalogue import default_catalogue
from interpreter.nodes import Catalogue, NodeSpec, RetryDefaults
from interpreter.plan import NodeCall

CALLS: Counter[str] = Counter()


class PostInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    message: str
    threadOf: str | None = None
    threadTs: str | None = None


class PostOutput(BaseModel):
    channel: str
    ts: str


class FlakyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    failures: int = 0
    fatal: bool = False


@activity.defn(name="slack.post")
async def fake_post(call: NodeCall) -> dict[str, Any]:
    CALLS[f"post:{call.context.step_id}"] += 1
    return {"channel": call.inputs["channel"], "ts": f"1700000000.{CALLS.total():06d}"}


@activity.defn(name="test.flaky")
async def flaky(call: NodeCall) -> dict[str, Any]:
    params = FlakyInput.model_validate(call.inputs)
    CALLS[params.key] += 1
    if params.fatal:
        raise ApplicationError("Permission denied: the token was revoked", non_retryable=True)
    if CALLS[params.key] <= params.failures:
        raise ApplicationError(f"transient failure {CALLS[params.key]}")
    return {"attempts": CALLS[params.key]}


@activity.defn(name="test.local")
async def local_echo(call: NodeCall) -> dict[str, Any]:
    """A node the test catalogue marks ``local``: it says whether it ran as a local activity."""
    CALLS[f"local:{call.context.step_id}"] += 1
    return {"local": activity.info().is_local, "text": call.inputs["text"]}


class LocalInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


FAKE_ACTIVITIES = [fake_post, flaky, local_echo]

CATALOGUE: Catalogue = default_catalogue().merged(
    Catalogue(
        nodes={
            "slack.post": NodeSpec(
                "slack.post",
                PostInput,
                PostOutput,
                references=default_catalogue().nodes["slack.post"].references,
            ),
            "test.local": NodeSpec("test.local", LocalInput, local=True),
            "test.flaky": NodeSpec(
                "test.flaky",
                FlakyInput,
                retry=RetryDefaults(
                    maximum_attempts=2,
                    initial_interval=__import__("datetime").timedelta(milliseconds=10),
                ),
            ),
        },
        triggers={},
    )
)


@activity.defn(name="incident_io.timeline.add_event")
async def timeline_add_event(call: NodeCall) -> dict[str, Any]:
    """A stand-in for the timeline node on the incident.io queue (approval decisions go there)."""
    return {"id": "tl-1", "incidentId": call.inputs["incidentId"], "title": "t", "timestamp": "t"}
