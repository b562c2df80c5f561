"""Definitions with no waiting step run inside the incident's workflow (decision 0003)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from contracts.incident import Hint
from stack.explain import render
from tests.runs import run_result
from tests.waiting import eventually
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow

from .helpers import flaky, local_echo
from .test_incident import (
    DEFINITIONS,
    INCIDENTS,
    ON_UPDATE,
    ROUTE,
    WATCH,
    incident_id,
    server_clock,  # noqa: F401 (autouse: incident timestamps follow the server clock)
    settle,
    snapshot,
    start,
)
from .test_incident import worker as incident_worker

pytestmark = pytest.mark.asyncio

BREAKS = """name: breaks
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: first
    type: debug.echo
    inputs: {text: "before the failure"}
  - id: revoked
    type: test.flaky
    inputs: {key: "inline-fatal", fatal: true}
  - id: never
    type: debug.echo
    inputs: {text: "not reached"}
"""


@contextlib.asynccontextmanager
async def worker(env: WorkflowEnvironment, queue: str) -> AsyncIterator[None]:
    async with incident_worker(env, queue, extra=[flaky, local_echo]):
        yield


async def test_a_plan_with_no_waiting_step_runs_inline_and_reports_its_result(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"route": (ROUTE, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        (decision,) = report.events[0].decisions
        assert (decision.outcome, decision.inline) == ("started", True)
        assert decision.workflow_id == f"{handle.id}-1-created-route"
        result = await run_result(time_env.client, handle.id, decision)
        assert result.status == "completed"
        assert [(s.id, s.status) for s in result.steps] == [("page", "completed")]
        assert result.steps[0].output == {"text": "SEV-2: Checkout down"}
        # the explain report carries the same result once it ended, and says where it ran
        final = await handle.query(IncidentWorkflow.explain)
        assert final.events[0].decisions[0].run == result
        text = render(final)
        assert "(inline in the incident's workflow)" in text
        assert "run completed [page completed]" in text
        # no child workflow: the run's activity is in the incident's history, named by
        # definition and step
        with pytest.raises(RPCError) as missing:
            await time_env.client.get_workflow_handle(decision.workflow_id).describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND
        history = await handle.fetch_history()
        summaries = [
            pydantic_data_converter.payload_converter.from_payload(e.user_metadata.summary, str)
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == "debug.echo"
        ]
        assert summaries == ["route: page"]


async def test_a_failing_inline_run_fails_alone(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update(
        {"breaks": (BREAKS, True), "route": (ROUTE, True), "on-update": (ON_UPDATE, True)}
    )
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        decisions = {d.definition: d for d in report.events[0].decisions}
        broken = await run_result(time_env.client, handle.id, decisions["breaks"])
        assert broken.status == "failed"
        assert broken.error is not None and "token was revoked" in broken.error
        steps = {s.id: s.status for s in broken.steps}
        assert steps == {"first": "completed", "revoked": "failed", "never": "not_run"}
        routed = await run_result(time_env.client, handle.id, decisions["route"])
        assert routed.status == "completed"
        # the incident's workflow goes on: the next change starts the next run
        INCIDENTS[iid] = snapshot(iid, fields={"severity": "SEV-1", "severity_name": "Critical"})
        await handle.signal(IncidentWorkflow.hint, Hint(source="sync"))
        report = await settle(handle, 2)
        update = next(d for d in report.events[1].decisions if d.definition == "on-update")
        assert (await run_result(time_env.client, handle.id, update)).status == "completed"
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        assert "run failed: step 'revoked' (test.flaky) failed" in render(
            await handle.query(IncidentWorkflow.explain)
        )


async def test_a_plan_that_waits_still_runs_as_a_child(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"watch": (WATCH, True), "route": (ROUTE, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        decisions = {d.definition: d for d in report.events[0].decisions}
        assert decisions["route"].inline and not decisions["watch"].inline
        assert decisions["watch"].workflow_id is not None
        child = time_env.client.get_workflow_handle_for(
            InterpreterWorkflow.run, decisions["watch"].workflow_id
        )
        assert (await child.describe()).status == WorkflowExecutionStatus.RUNNING
        assert (
            await handle.query(IncidentWorkflow.run_state, decisions["watch"].workflow_id) is None
        )

        async def watching() -> bool | None:
            return bool((await handle.query(IncidentWorkflow.explain)).watchers) or None

        await eventually(watching, message="the child run never started watching")


LOCAL = """name: local
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: short
    type: test.local
    inputs: {text: "{{ $trigger.incident_io.reference }}"}
  - id: long
    type: debug.echo
    inputs: {text: "an activity"}
"""


async def test_a_node_the_catalogue_marks_local_runs_as_a_local_activity(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"local": (LOCAL, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        report = await settle(handle, 1)
        result = await run_result(time_env.client, handle.id, report.events[0].decisions[0])
        outputs = {s.id: s.output for s in result.steps}
        assert outputs["short"] == {"local": True, "text": "INC-9"}
        assert outputs["long"] == {"text": "an activity"}
        history = await handle.fetch_history()
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        assert "test.local" not in scheduled and "debug.echo" in scheduled
