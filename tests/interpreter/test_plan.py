"""The typed plan: step kinds, locations, and plans pinned in stored histories still reading."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from interpreter.compiler import compile_text
from interpreter.nodes import Catalogue
from interpreter.plan import (
    ActionStep,
    CasesStep,
    ConditionStep,
    ExpressionPlan,
    Location,
    Plan,
    StepPlan,
    site_key,
)

HISTORIES = Path(__file__).parent.parent / "fixtures" / "histories"
STEP = TypeAdapter(StepPlan)
LOCATION = TypeAdapter(Location)
JSON_ENCODING = base64.b64encode(b"json/plain").decode()

LEGACY_STEP_FIELDS = {
    "id",
    "type",
    "kind",
    "node_kind",
    "location",
    "inputs",
    "locations",
    "condition",
    "branches",
    "cases",
    "default",
    "timeout",
    "retry",
    "continue_on_error",
    "task_queue",
    "writes_incident",
}
"""Every field of the single step shape older workers read (all but the first five optional)."""

DEFINITION = """name: typed
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: gate
    type: condition
    condition: "{{ $trigger.incident_io.severity == 'SEV-1' }}"
    onTrue: [triage]
  - id: triage
    type: condition
    condition: "{{ $trigger.incident_io.severity }}"
    cases:
      - value: SEV-1
        steps: [note]
      - default: [echo]
  - id: note
    type: debug.echo
    inputs:
      message: "a {{ $trigger.incident_io.title }} b {{ $trigger.incident_io.severity }}"
  - id: echo
    type: debug.echo
    inputs: {message: plain}
"""


def _stored_plans() -> list[dict[str, Any]]:
    """Every plan JSON pinned in a stored history's payloads (workflow inputs, results)."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if {"digest", "root", "steps"} <= value.keys():
                found.append(value)
                return
            if value.get("metadata", {}).get("encoding") == JSON_ENCODING:
                walk(json.loads(base64.b64decode(value["data"])))
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted(HISTORIES.rglob("*.json")):
        walk(json.loads(path.read_text()))
    return found


def test_every_plan_pinned_in_a_stored_history_reads_as_the_typed_plan() -> None:
    plans = _stored_plans()
    kinds = {step["kind"] for plan in plans for step in plan["steps"].values()}
    assert plans and kinds == {"action", "condition", "cases"}
    # ... and the newer optional fields are pinned in at least one of them
    pinned = {key for plan in plans for step in plan["steps"].values() for key in step}
    assert {"references", "incident_write"} <= pinned
    for stored in plans:
        plan = Plan.model_validate(stored)
        classes = {"action": ActionStep, "condition": ConditionStep, "cases": CasesStep}
        for sid, old in stored["steps"].items():
            step = plan.steps[sid]
            assert type(step) is classes[old["kind"]]
            dumped = step.model_dump(mode="json")
            # Every field kept reads back as written; every field dropped held its default.
            assert {k: old[k] for k in dumped if k in old} == {
                k: dumped[k] for k in old if k in dumped
            }
            assert all(
                old[k] in ({}, [], None, False, 30.0, "activity")
                for k in old.keys() - dumped.keys()
            )


def test_a_plan_compiled_now_has_only_fields_older_workers_read(catalogue: Catalogue) -> None:
    plan = compile_text(DEFINITION, file="typed.yaml", catalogue=catalogue)
    dumped = plan.model_dump(mode="json")
    for step in dumped["steps"].values():
        assert step.keys() <= LEGACY_STEP_FIELDS
        assert {"id", "type", "kind", "location"} <= step.keys()
        assert isinstance(step["location"], str)
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def test_steps_are_typed_by_kind_with_locations(catalogue: Catalogue) -> None:
    plan = compile_text(DEFINITION, file="typed.yaml", catalogue=catalogue)
    gate, triage, note = plan.steps["gate"], plan.steps["triage"], plan.steps["note"]
    assert isinstance(gate, ConditionStep) and gate.branch_lists() == [("triage",)]
    assert isinstance(triage, CasesStep) and triage.branch_lists() == [("note",), ("echo",)]
    assert isinstance(note, ActionStep) and note.branch_lists() == []
    assert gate.location == Location(file="typed.yaml", line=5, col=5)
    assert str(gate.condition.location) == "typed.yaml:7:16"
    assert note.locations == {
        "/message@4": Location(file="typed.yaml", line=19, col=21),
        "/message@39": Location(file="typed.yaml", line=19, col=56),
    }


def test_location_of_an_input_offset_counts_from_the_expression_before_it() -> None:
    step = ActionStep(
        id="s",
        type="debug.echo",
        location=Location(file="f.yaml", line=3, col=5),
        locations={
            site_key("/message", 2): Location(file="f.yaml", line=4, col=10),
            site_key("/message", 20): Location(file="f.yaml", line=4, col=28),
            site_key("/other", 0): Location(file="f.yaml", line=5, col=9),
        },
    )
    assert step.location_of("/message", 7) == Location(file="f.yaml", line=4, col=15)
    assert step.location_of("/message", 25) == Location(file="f.yaml", line=4, col=33)
    assert step.location_of("/message", 20) == Location(file="f.yaml", line=4, col=28)
    # Nothing starts at or before the offset, or no expression at that pointer: the step.
    assert step.location_of("/message", 1) == step.location
    assert step.location_of("/missing", 4) == step.location


def test_a_location_reads_from_and_writes_to_file_line_col() -> None:
    location = LOCATION.validate_python("C:/defs/a:b.yaml:12:7")
    assert (location.file, location.line, location.col) == ("C:/defs/a:b.yaml", 12, 7)
    assert LOCATION.validate_python(location) is location
    assert LOCATION.dump_python(location) == "C:/defs/a:b.yaml:12:7"
    assert LOCATION.dump_json(location) == b'"C:/defs/a:b.yaml:12:7"'
    assert LOCATION.validate_json(b'"f:1:2"') == Location(file="f", line=1, col=2)
    assert f"{location.shifted(3)}" == "C:/defs/a:b.yaml:12:10"
    assert ExpressionPlan.model_validate({"source": "x", "location": "f:1:2"}).location == (
        Location(file="f", line=1, col=2)
    )


@pytest.mark.parametrize("text", ["f.yaml:12", "f.yaml:x:7", "f.yaml:1:y"])
def test_a_malformed_location_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match=r"file:line:col|invalid literal"):
        LOCATION.validate_python(text)
    with pytest.raises(ValidationError):
        LOCATION.validate_python(12)


def test_an_old_step_with_another_kinds_field_set_is_refused_not_dropped() -> None:
    old = {
        "id": "gate",
        "type": "condition",
        "kind": "condition",
        "location": "f.yaml:1:1",
        "condition": {"source": "true", "location": "f.yaml:2:2"},
        "inputs": {},
        "timeout": 30.0,
    }
    assert isinstance(STEP.validate_python(old), ConditionStep)
    with pytest.raises(ValidationError, match="inputs"):
        STEP.validate_python({**old, "inputs": {"message": "lost"}})
    with pytest.raises(ValidationError, match="timeout"):
        STEP.validate_python({**old, "timeout": 5.0})


def test_a_step_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationError, match="valid dictionary or instance"):
        ActionStep.model_validate("gate")
