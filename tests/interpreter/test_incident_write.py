"""What a step writes to an incident is catalogue data, carried by the plan."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from activities.catalogue import default_catalogue
from interpreter.compiler import compile_text, diagnose_text
from interpreter.nodes import Catalogue, NodeSpec
from interpreter.plan import (
    LEGACY_INCIDENT_WRITES,
    ActionStep,
    FieldWrite,
    IncidentWrite,
    Plan,
)

CATALOGUE = default_catalogue()
OLD_STEP = {"id": "s", "kind": "action", "location": "f.yaml:1:1", "inputs": {}}


def action(plan: Plan, step_id: str) -> ActionStep:
    step = plan.steps[step_id]
    assert isinstance(step, ActionStep)
    return step


UPDATE = """name: up
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: bump
    type: incident_io.incident.update
    inputs:
      incidentId: "{{ $trigger.incident_io.incident_id }}"
      severity: SEV-1
  - id: say
    type: debug.echo
    inputs: {message: hi}
"""


def test_a_compiled_write_step_carries_its_nodes_catalogue_entry() -> None:
    plan = compile_text(UPDATE, file="up.yaml", catalogue=CATALOGUE)
    bump, say = action(plan, "bump"), action(plan, "say")
    assert bump.incident_write == CATALOGUE.nodes["incident_io.incident.update"].incident_write
    assert say.incident_write is None
    dumped = plan.model_dump(mode="json")
    assert "writes_incident" not in dumped["steps"]["bump"]
    assert "incident_write" not in dumped["steps"]["say"]  # older workers read it as before
    assert Plan.model_validate(dumped) == plan


@pytest.mark.parametrize("node", sorted(LEGACY_INCIDENT_WRITES))
def test_an_old_plans_write_flag_means_what_it_meant_for_its_node(node: str) -> None:
    step = ActionStep.model_validate(OLD_STEP | {"type": node, "writes_incident": True})
    assert step.incident_write == LEGACY_INCIDENT_WRITES[node]


def test_old_flags_of_other_nodes_and_false_flags() -> None:
    other = ActionStep.model_validate(OLD_STEP | {"type": "x.y", "writes_incident": True})
    assert other.incident_write == IncidentWrite(target="incidentId")
    silent = ActionStep.model_validate(OLD_STEP | {"type": "x.y", "writes_incident": False})
    assert silent.incident_write is None
    with pytest.raises(ValidationError, match="writes_incident"):
        ActionStep.model_validate(OLD_STEP | {"type": "x.y", "writes_incident": "yes"})


def test_the_legacy_table_is_what_the_catalogue_said_when_it_was_frozen() -> None:
    # Kept apart on purpose: the catalogue may change, old plans must not. Today they agree.
    for node, write in LEGACY_INCIDENT_WRITES.items():
        assert CATALOGUE.nodes[node].incident_write == write


class TicketInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket: str | None = None  # the run's incident when absent: not an echo the check sees
    note: str


TICKET = NodeSpec(
    "test.ticket.note",
    TicketInput,
    incident_write=IncidentWrite(
        target="ticket", fields=(FieldWrite(tracked="summary", output="summary"),)
    ),
)

ECHO = """name: echo
trigger:
  type: trigger.incident_io.incident.updated
steps:
  - id: note
    type: test.ticket.note
    inputs:
      ticket: "{{ $trigger.incident_io.incident_id }}"
      note: changed
"""


def test_the_echo_loop_warning_reads_the_target_input_the_catalogue_names() -> None:
    catalogue = CATALOGUE.merged(Catalogue(nodes={TICKET.name: TICKET}, triggers={}))
    [warning] = [d.render() for d in diagnose_text(ECHO, file="e.yaml", catalogue=catalogue)]
    assert "step 'note' (test.ticket.note) changes the same incident" in warning
    fixed = ECHO.replace("{{ $trigger.incident_io.incident_id }}", "01OTHER")
    assert diagnose_text(fixed, file="e.yaml", catalogue=catalogue) == []
    unnamed = ECHO.replace('      ticket: "{{ $trigger.incident_io.incident_id }}"\n', "")
    assert diagnose_text(unnamed, file="e.yaml", catalogue=catalogue) == []
