"""The interpreter workflow on the time-skipping server, with fake nodes."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.debug import echo
from contracts.runs import InterpretInput, RunResult
from interpreter.compiler import compile_text
from interpreter.plan import Plan
from temporal_client import result_of_failure
from workflows.interpreter import InterpreterWorkflow

from .helpers import CALLS, CATALOGUE, FAKE_ACTIVITIES

pytestmark = pytest.mark.asyncio

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "route-by-severity.yaml"
HEAD = "name: t\ntrigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"


def trigger(severity: str = "SEV-1", **extra: Any) -> dict[str, Any]:
    return {
        "incident_io": {"incident_id": "01INC", "title": "DB down", "severity": severity, **extra}
    }


def plan_of(steps: str) -> Plan:
    return compile_text(HEAD + steps, file="t.yaml", catalogue=CATALOGUE)


async def execute(
    env: WorkflowEnvironment, queue: str, plan: Plan, payload: dict[str, Any]
) -> tuple[RunResult, Any]:
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[InterpreterWorkflow],
        activities=[echo, *FAKE_ACTIVITIES],
    ):
        handle = await env.client.start_workflow(
            InterpreterWorkflow.run,
            InterpretInput(plan=plan, trigger=payload, set_search_attributes=False),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=queue,
        )
        try:
            result = await handle.result()
        except WorkflowFailureError as failure:
            carried = result_of_failure(failure)
            assert carried is not None
            result = carried
        history = await handle.fetch_history()
    return result, history


def statuses(result: RunResult) -> dict[str, str]:
    return {s.id: s.status for s in result.steps}


def scheduled(history: Any) -> list[tuple[str, str]]:
    out = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            out.append(
                (attrs.activity_type.name, event.user_metadata.summary.data.decode().strip('"'))
            )
    return out


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (
            "SEV-1",
            {
                "triage": "completed",
                "wake_exec": "completed",
                "call_agent": "completed",
                "open_ticket": "skipped",
                "note": "completed",
            },
        ),
        (
            "SEV-3",
            {
                "triage": "completed",
                "wake_exec": "skipped",
                "call_agent": "skipped",
                "open_ticket": "completed",
                "note": "completed",
            },
        ),
    ],
)
async def test_example_takes_the_branch_of_its_severity(
    time_env: WorkflowEnvironment, task_queue: str, severity: str, expected: dict[str, str]
) -> None:
    plan = compile_text(EXAMPLE.read_text(), file=EXAMPLE.name, catalogue=CATALOGUE)
    result, history = await execute(time_env, task_queue, plan, trigger(severity))
    assert result.status == "completed"
    assert statuses(result) == expected
    executed = [
        sid for sid, status in expected.items() if status == "completed" and sid != "triage"
    ]
    assert scheduled(history) == [("debug.echo", sid) for sid in executed]
    note = next(s for s in result.steps if s.id == "note")
    assert f"Severity {severity} routed by route-by-severity." in note.output["description"]
    assert (
        f"Agent dispatched: {'true' if severity == 'SEV-1' else 'false'}"
        in note.output["description"]
    )


async def test_outputs_feed_later_steps_and_types_are_kept(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    plan = plan_of(
        "  - id: post\n    type: slack.post\n    inputs: {channel: '#ops', message: 'hi'}\n"
        "  - id: use\n    type: debug.echo\n    inputs:\n"
        "      ts: '{{ $steps.post.ts }}'\n      text: 'posted in {{ $steps.post.channel }}'\n"
        "      whole: '{{ $steps.post }}'\n      flag: \"{{ $trigger.incident_io.severity == 'SEV-1' }}\"\n"
        "      wf: '{{ $workflow.name }}'\n"
    )
    result, _ = await execute(time_env, task_queue, plan, trigger())
    use = next(s for s in result.steps if s.id == "use").output
    post = next(s for s in result.steps if s.id == "post").output
    assert use == {
        "ts": post["ts"],
        "text": "posted in #ops",
        "whole": post,
        "flag": True,
        "wf": "t",
    }


async def test_boolean_condition_runs_only_the_taken_branch(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    plan = plan_of(
        "  - id: gate\n    type: condition\n    condition: \"{{ $trigger.incident_io.severity == 'SEV-1' }}\"\n"
        "    onTrue: [yes]\n    onFalse: [no]\n"
        "  - id: yes\n    type: debug.echo\n  - id: no\n    type: debug.echo\n"
    )
    result, history = await execute(time_env, task_queue, plan, trigger("SEV-2"))
    assert statuses(result) == {"gate": "completed", "yes": "skipped", "no": "completed"}
    assert result.steps[0].output == {"value": False, "branch": "onFalse"}
    assert scheduled(history) == [("debug.echo", "no")]


async def test_retry_policy_of_the_step_overrides_the_node(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    key = uuid.uuid4().hex
    plan = plan_of(
        f"  - id: f\n    type: test.flaky\n    retry: {{maximumAttempts: 4, initialInterval: 10ms}}\n"
        f"    inputs: {{key: '{key}', failures: 3}}\n"
    )
    result, _ = await execute(time_env, task_queue, plan, trigger())
    assert result.status == "completed"
    assert result.steps[0].output == {"attempts": 4}


async def test_a_failed_step_fails_the_run_clearly(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    key = uuid.uuid4().hex
    plan = plan_of(
        f"  - id: f\n    type: test.flaky\n    inputs: {{key: '{key}', failures: 5}}\n"
        "  - id: after\n    type: debug.echo\n"
    )
    result, _ = await execute(time_env, task_queue, plan, trigger())
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith(
        "step 'f' (test.flaky) failed: transient failure 2 (after 2 attempts over "
    ), result.error
    assert statuses(result) == {"f": "failed", "after": "not_run"}
    assert CALLS[key] == 2  # the node's default policy: two attempts


async def test_continue_on_error_records_the_failure_and_goes_on(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    key = uuid.uuid4().hex
    plan = plan_of(
        f"  - id: f\n    type: test.flaky\n    continueOnError: true\n    inputs: {{key: '{key}', fatal: true}}\n"
        "  - id: after\n    type: debug.echo\n    inputs:\n      saw: '{{ $steps.f.error }}'\n"
    )
    result, _ = await execute(time_env, task_queue, plan, trigger())
    assert result.status == "completed"
    assert statuses(result) == {"f": "failed", "after": "completed"}
    assert CALLS[key] == 1  # non-retryable: no second attempt
    assert result.steps[1].output == {
        "saw": "step 'f' (test.flaky) failed: Permission denied: the token was revoked"
    }


async def test_runtime_expression_errors_name_the_file_position(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    plan = plan_of(
        "  - id: a\n    type: debug.echo\n    inputs:\n      x: 'ref {{ $trigger.incident_io.reference }}'\n"
    )
    result, _ = await execute(time_env, task_queue, plan, {"incident_io": {"incident_id": "1"}})
    assert result.status == "failed"
    assert (
        result.error
        == "t.yaml:8:18: step 'a': no field 'reference' in $trigger.incident_io (present: incident_id)"
    )


async def test_non_boolean_condition_fails_the_run(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    plan = plan_of(
        "  - id: gate\n    type: condition\n    condition: '{{ $trigger.incident_io.title }}'\n    onTrue: [a]\n"
        "  - id: a\n    type: debug.echo\n"
    )
    result, _ = await execute(time_env, task_queue, plan, trigger())
    assert result.status == "failed"
    assert (
        result.error is not None
        and "condition of step 'gate' must be true or false, got 'DB down'" in result.error
    )


async def test_cases_without_a_match_and_without_default_run_nothing(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    plan = plan_of(
        "  - id: pick\n    type: condition\n    condition: '{{ $trigger.incident_io.severity }}'\n"
        "    cases:\n      - value: SEV-1\n        steps: [a]\n  - id: a\n    type: debug.echo\n"
        "  - id: b\n    type: debug.echo\n"
    )
    result, _ = await execute(time_env, task_queue, plan, trigger("SEV-4"))
    assert statuses(result) == {"pick": "completed", "a": "skipped", "b": "completed"}
    assert result.steps[0].output == {"value": "SEV-4", "branch": None}
