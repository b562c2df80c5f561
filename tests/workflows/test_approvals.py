"""Approval gates on the time-skipping server, with Slack activities against the simulator."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.credentials import ChainedCredentials, StaticCredentials
from activities.slack import SlackActivities
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.messages import DecideInput, PendingApproval
from contracts.runs import InterpretInput, RunResult
from interpreter.compiler import compile_text
from interpreter.plan import NodeCall
from simulators.server import serve
from simulators.slack import SANDBOX_BOT_TOKEN, SlackState, create_app
from temporal_client import result_of_failure
from tests.waiting import eventually
from workflows.interpreter import InterpreterWorkflow

from .helpers import CATALOGUE

pytestmark = pytest.mark.asyncio

HEAD = "name: gate\ntrigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"
GATE = """\
  - id: gate
    type: approval
    inputs:
      channel: "#incidents"
      message: "Restart the primary database for {{ $trigger.incident_io.title }}?"
      approvers: ["U01CAROL", "@sre-leads"]
      timeout: 1h
    onApproved: [restart]
    onRejected: [stand_down]
    onTimeout: [escalate]
  - id: restart
    type: debug.echo
    inputs: {action: restart}
  - id: stand_down
    type: debug.echo
    inputs: {action: stand down}
  - id: escalate
    type: debug.echo
    inputs: {action: escalate}
"""
TRIGGER = {"incident_io": {"incident_id": "01INC", "title": "DB down", "severity": "SEV-1"}}


@dataclass
class Timeline:
    calls: list[NodeCall] = field(default_factory=list)
    refuse: bool = False

    @activity.defn(name="incident_io.timeline.add_event")
    async def add_event(self, call: NodeCall) -> dict[str, Any]:
        self.calls.append(call)
        if self.refuse:
            raise ApplicationError(
                "Permission denied: the key cannot edit the timeline", non_retryable=True
            )
        return {"id": f"tl-{len(self.calls)}"}


@dataclass
class Rig:
    env: WorkflowEnvironment
    queue: str
    slack: SlackState
    timeline: Timeline

    async def start(self, steps: str = GATE) -> WorkflowHandle[Any, RunResult]:
        plan = compile_text(HEAD + steps, file="gate.yaml", catalogue=CATALOGUE)
        params = InterpretInput(
            plan=plan,
            trigger=TRIGGER,
            incident_id="01INC",
            set_search_attributes=False,
            incident_io_task_queue=f"{self.queue}-io",
        )
        return await self.env.client.start_workflow(
            InterpreterWorkflow.run, params, id=f"gate-{uuid.uuid4().hex}", task_queue=self.queue
        )


@pytest_asyncio.fixture
async def rig(time_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Rig]:
    from activities.debug import echo

    state = SlackState()
    timeline = Timeline()
    credentials = ChainedCredentials(
        [StaticCredentials({("default", "slack", "bot_token"): SANDBOX_BOT_TOKEN})]
    )
    async with serve(create_app(state)) as url, httpx.AsyncClient(timeout=10) as http:
        slack = SlackActivities(credentials, http, base_url=url)
        async with (
            Worker(
                time_env.client,
                task_queue=task_queue,
                workflows=[InterpreterWorkflow],
                activities=[echo, *slack.all()],
            ),
            # the timeline entry goes to the queue the run's input names, not a default
            Worker(
                time_env.client,
                task_queue=f"{task_queue}-io",
                activities=[timeline.add_event],
            ),
        ):
            yield Rig(time_env, task_queue, state, timeline)


async def waiting(handle: WorkflowHandle[Any, RunResult], step_id: str) -> PendingApproval:
    """The approval of ``step_id`` once its Slack message is posted (the run is then idle)."""

    async def posted() -> PendingApproval | None:
        found = {a.step_id: a for a in await handle.query(InterpreterWorkflow.approvals)}
        item = found.get(step_id)
        if item is not None and item.slack_ts is not None and item.status == "waiting":
            return item
        return None

    return await eventually(
        posted, seconds=10, message=f"approval {step_id!r} never started waiting"
    )


def decide(step_id: str = "gate", **fields: Any) -> DecideInput:
    return DecideInput(step_id=step_id, **({"decision": "approved", "by": "U01ALICE"} | fields))


def steps_of(result: RunResult) -> dict[str, str]:
    return {s.id: s.status for s in result.steps}


async def test_approve_from_slack_takes_on_approved(rig: Rig) -> None:
    handle = await rig.start()
    item = await waiting(handle, "gate")
    assert item.users == ["U01CAROL", "U01ALICE", "U01BOB"]  # @sre-leads expanded
    [posted] = rig.slack.messages
    assert posted.blocks is not None
    button = posted.blocks[-1]["elements"][0]
    assert button["value"] == f"{handle.id}|{handle.result_run_id}|gate"

    outcome = await handle.execute_update(
        InterpreterWorkflow.decide, decide(source="slack", reason="go"), id="click-1"
    )
    assert outcome.decision == "approved"
    result = await handle.result()
    assert steps_of(result) == {
        "gate": "completed",
        "restart": "completed",
        "stand_down": "skipped",
        "escalate": "skipped",
    }
    output = result.steps[0].output
    assert output == {
        "decision": "approved",
        "by": "U01ALICE",
        "at": outcome.at,
        "reason": "go",
        "branch": "onApproved",
        "problems": [],
        "timeline_item": "tl-1",
    }
    assert posted.text.startswith("Approved by <@U01ALICE> at ")
    assert all(b.get("block_id") != "rensei-approval" for b in posted.blocks)
    [note] = rig.timeline.calls
    assert note.context.step_id == "gate.decision"
    assert note.inputs["incidentId"] == "01INC"
    assert note.inputs["eventType"] == "approval"
    assert note.inputs["title"] == "Approval 'gate' approved by U01ALICE"


async def test_reject_from_the_api_takes_on_rejected(rig: Rig) -> None:
    handle = await rig.start()
    await waiting(handle, "gate")
    await handle.execute_update(
        InterpreterWorkflow.decide,
        decide(decision="rejected", by="ops-oncall", source="api", reason="too risky"),
    )
    result = await handle.result()
    assert steps_of(result)["stand_down"] == "completed"
    assert steps_of(result)["restart"] == "skipped"
    assert result.steps[0].output["branch"] == "onRejected"
    assert rig.slack.messages[0].text.endswith(
        "Rejected by ops-oncall at " + result.steps[0].output["at"] + ": too risky"
    )


async def test_a_slack_user_who_is_not_an_approver_is_refused(rig: Rig) -> None:
    handle = await rig.start()
    await waiting(handle, "gate")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            InterpreterWorkflow.decide, decide(by="U01DAVE", source="slack")
        )
    assert refused.value.cause.message == "<@U01DAVE> is not an approver of step 'gate'"
    # An operator through the API is trusted whoever they name.
    await handle.execute_update(InterpreterWorkflow.decide, decide(by="dave", source="api"))
    assert (await handle.result()).steps[0].output["by"] == "dave"


async def test_unknown_step_is_refused(rig: Rig) -> None:
    handle = await rig.start()
    await waiting(handle, "gate")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(InterpreterWorkflow.decide, decide(step_id="restart"))
    assert refused.value.cause.message == "no approval is waiting for step 'restart' in this run"
    await handle.execute_update(InterpreterWorkflow.decide, decide())
    await handle.result()


async def test_timeout_takes_on_timeout(rig: Rig) -> None:
    handle = await rig.start()
    result = await handle.result()  # time skips through the hour
    assert steps_of(result)["escalate"] == "completed"
    output = result.steps[0].output
    assert output["decision"] == "timeout" and output["branch"] == "onTimeout"
    assert rig.slack.messages[0].text.startswith("Timed out at ")
    assert rig.timeline.calls[0].inputs["title"] == "Approval 'gate' timed out"


async def test_a_decision_after_the_timeout_is_refused(rig: Rig) -> None:
    steps = GATE.replace("onTimeout: [escalate]", "onTimeout: [second]") + (
        "  - id: second\n    type: approval\n    inputs:\n      channel: '#incidents'\n"
        "      message: still there?\n      approvers: [U01CAROL]\n      timeout: 1d\n"
    )
    handle = await rig.start(steps)
    first = await waiting(handle, "gate")
    await rig.env.sleep(3601)
    await waiting(handle, "second")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(InterpreterWorkflow.decide, decide(source="slack"))
    assert refused.value.cause.message == (
        f"the approval of step 'gate' timed out at {first.deadline}; "
        "decisions are no longer accepted"
    )
    await handle.execute_update(
        InterpreterWorkflow.decide, decide(step_id="second", by="U01CAROL", source="slack")
    )
    result = await handle.result()
    assert [s.output["decision"] for s in result.steps if s.id in {"gate", "second"}] == [
        "timeout",
        "approved",
    ]


async def test_the_same_update_id_twice_is_one_decision(rig: Rig) -> None:
    handle = await rig.start()
    await waiting(handle, "gate")
    first = await handle.execute_update(
        InterpreterWorkflow.decide, decide(source="slack"), id="slack-1700000000.000100"
    )
    again = await handle.execute_update(
        InterpreterWorkflow.decide, decide(source="slack"), id="slack-1700000000.000100"
    )
    assert again == first
    # A second click (another update id) is refused: the step is decided.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            InterpreterWorkflow.decide, decide(by="U01BOB", source="slack"), id="slack-other"
        )
    assert refused.value.cause.message.startswith("step 'gate' was already decided by U01ALICE at ")
    await handle.result()
    assert len(rig.timeline.calls) == 1


async def test_rejected_without_a_branch_stops_the_run(rig: Rig) -> None:
    steps = (
        "  - id: gate\n    type: approval\n    inputs:\n      channel: '#incidents'\n"
        "      message: restart?\n      approvers: [U01CAROL]\n"
        "  - id: restart\n    type: debug.echo\n    inputs: {action: restart}\n"
    )
    handle = await rig.start(steps)
    await waiting(handle, "gate")
    await handle.execute_update(
        InterpreterWorkflow.decide, decide(decision="rejected", by="U01CAROL", source="slack")
    )
    with pytest.raises(Exception) as failed:
        await handle.result()
    result = result_of_failure(failed.value)
    assert result is not None
    assert result.error == "step 'gate' (approval) failed: approval 'gate' was rejected by U01CAROL"
    assert steps_of(result) == {"gate": "failed", "restart": "not_run"}


@pytest_asyncio.fixture
async def real_timeline(time_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Any]:
    """The gate with Slack and incident.io both simulated, each on the queue it runs on."""
    from activities.debug import echo
    from activities.incident_io.nodes import IncidentIoActivities
    from simulators.incident_io import SANDBOX_TOKEN, SimulatorState
    from simulators.incident_io import create_app as incident_io_app

    slack_state, incidents = SlackState(), SimulatorState()
    credentials = ChainedCredentials(
        [
            StaticCredentials(
                {
                    ("default", "slack", "bot_token"): SANDBOX_BOT_TOKEN,
                    ("default", "incident_io", "token"): SANDBOX_TOKEN,
                }
            )
        ]
    )
    async with (
        serve(create_app(slack_state)) as slack_url,
        serve(incident_io_app(incidents)) as incident_io_url,
        httpx.AsyncClient(timeout=10) as http,
    ):
        slack = SlackActivities(credentials, http, base_url=slack_url)
        incident_io = IncidentIoActivities(credentials, http, lambda _: incident_io_url)
        async with (
            Worker(
                time_env.client,
                task_queue=task_queue,
                workflows=[InterpreterWorkflow],
                activities=[echo, *slack.all()],
            ),
            Worker(
                time_env.client,
                task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
                activities=incident_io.all(),
            ),
        ):
            yield time_env, task_queue, incidents, slack_state


async def test_the_decision_is_on_the_incident_timeline_in_incident_io(
    real_timeline: Any,
) -> None:
    env, queue, incidents, slack_state = real_timeline
    incident = incidents.create_incident("Primary database down")
    plan = compile_text(HEAD + GATE, file="gate.yaml", catalogue=CATALOGUE)
    trigger = {"incident_io": TRIGGER["incident_io"] | {"incident_id": incident.id}}
    params = InterpretInput(
        plan=plan, trigger=trigger, incident_id=incident.id, set_search_attributes=False
    )
    handle = await env.client.start_workflow(
        InterpreterWorkflow.run, params, id=f"gate-{uuid.uuid4().hex}", task_queue=queue
    )
    await waiting(handle, "gate")
    await handle.execute_update(
        # an operator's name that looks like a Slack user id, and a reason that would ping
        InterpreterWorkflow.decide,
        decide(by="UMA", source="cli", reason="<!channel> go"),
    )
    result = await handle.result()
    [item] = [t for t in incidents.timeline if t.incident_id == incident.id]
    assert item.title == "[approval] Approval 'gate' approved by UMA"
    assert result.steps[0].output["timeline_item"] == item.id
    [message] = slack_state.messages
    assert message.text.startswith("Approved by UMA at ")
    assert message.text.endswith(": &lt;!channel&gt; go")


async def test_a_decision_the_timeline_refuses_fails_the_step(rig: Rig) -> None:
    rig.timeline.refuse = True
    handle = await rig.start()
    await waiting(handle, "gate")
    await handle.execute_update(InterpreterWorkflow.decide, decide(reason="go"))
    with pytest.raises(Exception) as failed:
        await handle.result()
    result = result_of_failure(failed.value)
    assert result is not None
    assert result.error == (
        "step 'gate' (approval) failed: Approval 'gate' approved by U01ALICE, but recording it "
        "on the incident timeline failed: Permission denied: the key cannot edit the timeline"
    )
    assert steps_of(result)["restart"] == "not_run"
