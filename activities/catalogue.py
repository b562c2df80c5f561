"""The node catalogue: every node type's models, defaults and kind, as data the compiler reads."""

from __future__ import annotations

from datetime import timedelta

from activities.debug import EchoInput, EchoOutput
from activities.http_models import HttpRequestInput, HttpRequestOutput
from activities.incident_io.specs import incident_io_nodes
from activities.linear import CreateIssueInput, CreateIssueResult
from activities.slack import SlackPostInput, SlackPostOutput
from activities.slack.activities import SLACK_TS
from activities.triggers import TRIGGER_MODELS, IncidentUpdatedPayload
from contracts.agents import AgentDispatchInput, AgentDispatchOutput
from contracts.errors import NON_RETRYABLE_ERRORS
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.steps import ApprovalInput, ApprovalOutput, WaitForInput, WaitForOutput
from interpreter.nodes import Catalogue, NodeSpec, RetryDefaults, StepReference, TriggerSpec

TRIGGERS = {
    name: TriggerSpec(
        name=name,
        payload_model=model,
        description=(model.__doc__ or "").strip(),
        fires_on_changes=model is IncidentUpdatedPayload,
    )
    for name, model in TRIGGER_MODELS.items()
}

# Provider calls: 5 attempts, 1s doubling to 1m; errors that retrying cannot fix stop at once.
PROVIDER_RETRY = RetryDefaults(
    maximum_attempts=5,
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=NON_RETRYABLE_ERRORS,
)

NODES: dict[str, NodeSpec] = {
    "debug.echo": NodeSpec(
        name="debug.echo",
        input_model=EchoInput,
        output_model=EchoOutput,
        description="Returns its inputs.",
        timeout=timedelta(seconds=10),
        retry=RetryDefaults(maximum_attempts=3, initial_interval=timedelta(milliseconds=200)),
    ),
    "slack.post": NodeSpec(
        name="slack.post",
        input_model=SlackPostInput,
        output_model=SlackPostOutput,
        description="Posts a message to a Slack channel (once per run, even across retries).",
        timeout=timedelta(seconds=30),
        retry=PROVIDER_RETRY,
        references=(
            StepReference(
                input="threadOf",
                node="slack.post",
                output="ts",
                into="threadTs",
                literal=SLACK_TS.pattern,
                hint="the thread's first message must be posted earlier on the same path",
                unresolved="posted nothing to thread under; posting to the channel",
            ),
        ),
    ),
    "linear.issue.create": NodeSpec(
        name="linear.issue.create",
        input_model=CreateIssueInput,
        output_model=CreateIssueResult,
        description="Opens a Linear issue (once per run, even across retries).",
        timeout=timedelta(seconds=30),
        retry=PROVIDER_RETRY,
    ),
    "http.request": NodeSpec(
        name="http.request",
        input_model=HttpRequestInput,
        output_model=HttpRequestOutput,
        description="Calls an allowlisted HTTP endpoint; 408, 429 and 5xx are retried.",
        timeout=timedelta(minutes=3),  # each attempt; the request's own timeout is `timeout`
        retry=PROVIDER_RETRY,
        # Short and idempotent (every attempt carries the run's and step's Idempotency-Key):
        # a local activity keeps that. Not slack.post, whose retry looks for an earlier post
        # only from attempt 2 on, and a local activity starts again at 1 after a crash.
        local=True,
    ),
    "agent.dispatch": NodeSpec(
        name="agent.dispatch",
        input_model=AgentDispatchInput,
        output_model=AgentDispatchOutput,
        description="Hands a payload to an A2A agent and waits for its result.",
        kind="agent",
        timeout=timedelta(seconds=30),  # each remote call; the wait itself is `timeout`
        retry=PROVIDER_RETRY,
        branches=("onTimeout",),
    ),
    "approval": NodeSpec(
        name="approval",
        input_model=ApprovalInput,
        output_model=ApprovalOutput,
        description="Asks approvers in Slack and waits for Approve, Reject or the timeout.",
        kind="approval",
        timeout=timedelta(seconds=30),  # each Slack call; the wait itself is `timeout`
        retry=PROVIDER_RETRY,
        branches=("onApproved", "onRejected", "onTimeout"),
    ),
    "incident_io.incident.wait_for": NodeSpec(
        name="incident_io.incident.wait_for",
        input_model=WaitForInput,
        output_model=WaitForOutput,
        description="Waits durably for an event of the incident (resolved by default).",
        kind="wait",
        timeout=timedelta(seconds=30),  # each signal; the wait itself is `timeout`
        branches=("onTimeout",),
    ),
}


def default_catalogue(*, incident_io_task_queue: str = DEFAULT_INCIDENT_IO_TASK_QUEUE) -> Catalogue:
    """Every node and trigger type rensei ships.

    Args:
        incident_io_task_queue: where the ``incident_io.*`` steps of the plans compiled
            against it run (``RENSEI_INCIDENT_IO_TASK_QUEUE``); checking a definition
            needs no particular queue.
    """
    nodes = {**NODES, **incident_io_nodes(incident_io_task_queue)}
    return Catalogue(nodes=nodes, triggers=dict(TRIGGERS))
