"""Nodes the catalogue marks ``local``: the plan says so, and only where it can hold."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from activities.catalogue import default_catalogue
from interpreter.compiler import compile_text
from interpreter.nodes import Catalogue, NodeSpec
from interpreter.plan import ActionStep, Plan


class TextInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


CATALOGUE = default_catalogue().merged(
    Catalogue(
        nodes={
            "note.short": NodeSpec("note.short", TextInput, local=True),
            "note.queued": NodeSpec("note.queued", TextInput, local=True, task_queue="elsewhere"),
        },
        triggers={},
    )
)

TEXT = """name: notes
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: short
    type: note.short
    inputs: {text: a}
  - id: queued
    type: note.queued
    inputs: {text: b}
  - id: echo
    type: debug.echo
    inputs: {text: c}
"""


def test_only_a_local_node_without_its_own_queue_runs_locally() -> None:
    plan = compile_text(TEXT, file="notes.yaml", catalogue=CATALOGUE)
    steps = plan.steps
    assert isinstance(steps["short"], ActionStep) and steps["short"].local
    assert isinstance(steps["queued"], ActionStep) and not steps["queued"].local
    assert isinstance(steps["echo"], ActionStep) and not steps["echo"].local


def test_the_flag_is_written_only_when_set_so_older_workers_read_other_plans() -> None:
    plan = compile_text(TEXT, file="notes.yaml", catalogue=CATALOGUE)
    dumped = plan.model_dump(mode="json")
    assert dumped["steps"]["short"]["local"] is True
    assert "local" not in dumped["steps"]["echo"]
    assert Plan.model_validate(dumped) == plan


def test_http_request_is_the_shipped_local_node() -> None:
    local = {name for name, spec in default_catalogue().nodes.items() if spec.local}
    assert local == {"http.request"}
