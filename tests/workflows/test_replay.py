"""Stored histories replay against the current interpreter (a guard for running workflows).

Record them again after a deliberate, patched change with
``python -m tests.workflows.record_histories``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.interpreter import InterpreterWorkflow

HISTORIES = Path(__file__).parent.parent / "fixtures" / "histories"
EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "route-by-severity.yaml"
FAILING = """name: failing
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: tolerated
    type: test.flaky
    continueOnError: true
    inputs: {key: replay-tolerated, fatal: true}
  - id: gate
    type: condition
    condition: "{{ has($steps.tolerated.error) }}"
    onTrue: [fatal]
  - id: fatal
    type: test.flaky
    inputs: {key: replay-fatal, fatal: true}
"""

CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "route-sev1": (EXAMPLE.read_text(), EXAMPLE.name, {"severity": "SEV-1"}),
    "route-sev3": (EXAMPLE.read_text(), EXAMPLE.name, {"severity": "SEV-3"}),
    "failing": (FAILING, "failing.yaml", {"severity": "SEV-2"}),
}


def test_histories_are_stored() -> None:
    assert {p.stem for p in HISTORIES.glob("*.json")} == set(CASES)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", sorted(CASES))
async def test_stored_history_replays(name: str) -> None:
    text = (HISTORIES / f"{name}.json").read_text()
    history = WorkflowHistory.from_json(f"replay-{name}", text)
    replayer = Replayer(workflows=[InterpreterWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
