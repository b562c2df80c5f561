"""The worker registers every provider activity, and the catalogue describes their nodes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.catalogue import default_catalogue
from settings import Settings
from worker import build_workers

pytestmark = pytest.mark.asyncio


# Called by the workflow's own step handlers (agent, approval), not named in the catalogue.
HANDLER_ACTIVITIES = (
    "agent.send",
    "agent.get",
    "agent.cancel",
    "slack.approval.post",
    "slack.approval.resolve",
    "slack.usergroup.members",
)
UNREGISTERED = "no.such.activity"


@workflow.defn(sandboxed=False)
class ProbeWorkflow:
    """Calls each (name, queue) once with an argument no activity accepts, and reports which
    ones the worker answered "not registered" (the activity never runs either way)."""

    @workflow.run
    async def run(self, targets: list[tuple[str, str]]) -> list[str]:
        missing = []
        for name, queue in targets:
            try:
                await workflow.execute_activity(
                    name,
                    "not an input model",
                    task_queue=queue,
                    start_to_close_timeout=timedelta(seconds=10),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
            except ActivityError as exc:
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.type == "NotFoundError":
                    missing.append(name)
        return missing


async def test_every_catalogue_node_has_an_activity_on_its_queue(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    settings = Settings(agents={"a": "http://a.test"}, task_queue=task_queue)
    nodes = default_catalogue().nodes
    targets = [
        (spec.name, spec.task_queue or task_queue)
        for spec in nodes.values()
        if spec.kind == "activity"
    ]
    targets += [(name, task_queue) for name in HANDLER_ACTIVITIES]
    # The probe can tell: a name nothing registers is reported.
    targets.append((UNREGISTERED, task_queue))
    async with httpx.AsyncClient() as http:
        workers = build_workers(time_env.client, settings, http=http)
        probe = Worker(time_env.client, task_queue=f"{task_queue}-probe", workflows=[ProbeWorkflow])
        async with probe, workers[0], workers[1]:
            missing = await time_env.client.execute_workflow(
                ProbeWorkflow.run,
                targets,
                id=f"probe-{task_queue}",
                task_queue=f"{task_queue}-probe",
            )
    assert missing == [UNREGISTERED]
    assert len(targets) > len(HANDLER_ACTIVITIES) + 5  # the catalogue's nodes were probed


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
        "problems",
        "timeline_item",
    }
