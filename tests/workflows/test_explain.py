"""``rensei explain`` also shows what the incident's running runs wait on."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.debug import echo
from activities.slack import ApprovalPostInput, SlackPostOutput
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from stack.explain import Explanation, explain, render
from tests.e2e.test_incident_flow import eventually
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow

from .test_incident import (
    DEFINITIONS,
    FAKE_DEFINITIONS,
    INCIDENTS,
    fake_snapshot,
    incident_id,
    server_clock,  # noqa: F401 (autouse: incident timestamps follow the server clock)
    snapshot,
    start,
    terminate_leftovers,
)

pytestmark = pytest.mark.asyncio

GATE = """name: gate
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: restart_db
    type: approval
    inputs: {channel: "#ops", message: "Restart?", approvers: [U01ALICE], timeout: 2h}
"""


@activity.defn(name="slack.approval.post")
async def post(params: ApprovalPostInput) -> SlackPostOutput:
    return SlackPostOutput(channel="C1", ts="1.000001", permalink="https://slack.test/p1")


async def test_explain_lists_runs_waiting_on_an_approval(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    DEFINITIONS.clear()
    DEFINITIONS.update({"gate": (GATE, True)})
    iid = incident_id()
    INCIDENTS[iid] = snapshot(iid)
    async with (
        Worker(
            time_env.client,
            task_queue=task_queue,
            workflows=[IncidentWorkflow, InterpreterWorkflow],
            activities=[echo, *FAKE_DEFINITIONS, post],
        ),
        Worker(
            time_env.client, task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE, activities=[fake_snapshot]
        ),
    ):
        await start(time_env, task_queue, iid)

        async def waiting() -> Explanation | None:
            found = await explain(time_env.client, iid, "acme")
            return found if found.approvals else None

        try:
            report = await eventually(waiting)
        finally:
            await terminate_leftovers(time_env)
    [entry] = report.approvals
    run: Any = report.events[0].decisions[0].workflow_id
    assert (entry.workflow_id, entry.definition, entry.approval.step_id) == (
        run,
        "gate",
        "restart_db",
    )
    assert (
        f"waiting for approval: gate run {run} step restart_db in #ops (approvers U01ALICE) "
        f"until {entry.approval.deadline}; decide with: rensei approve {run} restart_db"
    ) in render(report)
