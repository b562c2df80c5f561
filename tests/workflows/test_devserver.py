"""On the dev server: search attributes, activity summaries, and nothing but activities in history."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.debug import echo
from contracts import search
from contracts.runs import InterpretInput
from interpreter.compiler import compile_text
from temporal_client import start_run
from workflows.interpreter import InterpreterWorkflow

from .helpers import CATALOGUE

pytestmark = pytest.mark.asyncio

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "route-by-severity.yaml"


def _params() -> InterpretInput:
    plan = compile_text(EXAMPLE.read_text(), file=EXAMPLE.name, catalogue=CATALOGUE)
    trigger = {"incident_io": {"incident_id": "01DEV", "title": "API down", "severity": "SEV-1"}}
    return InterpretInput(plan=plan, trigger=trigger, workspace="acme", incident_id="01DEV")


async def test_run_sets_the_search_attributes_it_knows(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with Worker(
        dev_env.client, task_queue=task_queue, workflows=[InterpreterWorkflow], activities=[echo]
    ):
        handle = await dev_env.client.start_workflow(
            InterpreterWorkflow.run, _params(), id=f"sa-{uuid.uuid4().hex}", task_queue=task_queue
        )
        await handle.result()
        attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(search.DEFINITION_NAME) == "route-by-severity"
    assert attrs.get(search.TRIGGER_TYPE) == "trigger.incident_io.incident.created"
    assert attrs.get(search.WORKSPACE) == "acme"
    assert attrs.get(search.INCIDENT_ID) == "01DEV"
    assert attrs.get(search.INCIDENT_SEVERITY) == "SEV-1"


async def test_history_holds_one_activity_per_executed_action(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    params = _params()
    async with Worker(
        dev_env.client, task_queue=task_queue, workflows=[InterpreterWorkflow], activities=[echo]
    ):
        handle = await start_run(
            dev_env.client, params, workflow_id=f"hist-{uuid.uuid4().hex}", task_queue=task_queue
        )
        await handle.result()
        history = await handle.fetch_history()
    kinds = [e.event_type for e in history.events]
    summaries = [
        e.user_metadata.summary.data.decode().strip('"')
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert summaries == ["wake_exec", "call_agent", "note"]
    allowed = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    }
    assert set(kinds) <= allowed
