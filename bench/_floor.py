"""Hand-written workflows for the load benches: the bare Temporal floor and candidate shapes.

Each item is a signal-with-start of one of these workflows, which ends by posting one
message to the same Slack sink rensei's definitions post to. The worker runs in its own
process, as rensei's does: ``python -m bench._floor ADDRESS TASK_QUEUE SLACK_URL``.

- ``FloorWorkflow``: one activity (the post). The floor of bench.storm.
- ``TwoWorkflowsShape``: rensei's path today: the incident workflow runs two activities
  (fetch, find definitions), starts a child run, and the child runs the post.
- ``OneWorkflowShape``: one workflow per incident: a local activity (find definitions),
  then the post as an activity.
- ``OneWorkflowLocalShape``: the same with the post as a local activity too.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import httpx

    from simulators.slack import SANDBOX_BOT_TOKEN


@workflow.defn(name="FloorWorkflow")
class FloorWorkflow:
    """What Temporal itself does per incident: wake on a signal, run one activity, end."""

    def __init__(self) -> None:
        self._keys: list[str] = []

    @workflow.signal
    def hint(self, key: str) -> None:
        self._keys.append(key)

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: bool(self._keys))
        await workflow.execute_activity(
            "floor.post",
            self._keys[0],
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )


SHORT = timedelta(seconds=10)


@workflow.defn(name="ShapeChild")
class ShapeChild:
    @workflow.run
    async def run(self, key: str) -> None:
        await workflow.execute_activity("floor.post", key, start_to_close_timeout=SHORT)


class _Signalled:
    def __init__(self) -> None:
        self._keys: list[str] = []

    @workflow.signal
    def hint(self, key: str) -> None:
        self._keys.append(key)

    async def _key(self) -> str:
        await workflow.wait_condition(lambda: bool(self._keys))
        return self._keys[0]


@workflow.defn(name="TwoWorkflowsShape")
class TwoWorkflowsShape(_Signalled):
    @workflow.run
    async def run(self) -> None:
        key = await self._key()
        await workflow.execute_activity("floor.noop", key, start_to_close_timeout=SHORT)
        await workflow.execute_activity("floor.noop", key, start_to_close_timeout=SHORT)
        await workflow.start_child_workflow(
            ShapeChild.run,
            key,
            id=f"{workflow.info().workflow_id}-child",
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )


@workflow.defn(name="OneWorkflowShape")
class OneWorkflowShape(_Signalled):
    @workflow.run
    async def run(self) -> None:
        key = await self._key()
        await workflow.execute_local_activity("floor.noop", key, start_to_close_timeout=SHORT)
        await workflow.execute_activity("floor.post", key, start_to_close_timeout=SHORT)


@workflow.defn(name="OneWorkflowLocalShape")
class OneWorkflowLocalShape(_Signalled):
    @workflow.run
    async def run(self) -> None:
        key = await self._key()
        await workflow.execute_local_activity("floor.noop", key, start_to_close_timeout=SHORT)
        await workflow.execute_local_activity("floor.post", key, start_to_close_timeout=SHORT)


SHAPES = ("FloorWorkflow", "TwoWorkflowsShape", "OneWorkflowShape", "OneWorkflowLocalShape")


class FloorActivities:
    def __init__(self, http: httpx.AsyncClient, slack_url: str) -> None:
        self.http = http
        self.slack_url = slack_url

    @activity.defn(name="floor.noop")
    async def noop(self, key: str) -> str:
        return key

    @activity.defn(name="floor.post")
    async def post(self, key: str) -> None:
        answer = await self.http.post(
            f"{self.slack_url}/api/chat.postMessage",
            json={"channel": "#incidents", "text": f"[{key}] floor"},
            headers={"Authorization": f"Bearer {SANDBOX_BOT_TOKEN}"},
        )
        answer.raise_for_status()
        if answer.json().get("ok") is not True:
            raise RuntimeError(f"chat.postMessage refused: {answer.text}")


async def _serve(address: str, task_queue: str, slack_url: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    async with httpx.AsyncClient(timeout=10) as http:
        activities = FloorActivities(http, slack_url)
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[
                FloorWorkflow,
                ShapeChild,
                TwoWorkflowsShape,
                OneWorkflowShape,
                OneWorkflowLocalShape,
            ],
            activities=[activities.post, activities.noop],
        )
        await worker.run()


if __name__ == "__main__":
    asyncio.run(_serve(*sys.argv[1:4]))
