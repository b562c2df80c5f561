"""Admitting a definition: checked within a budget, compiled, stored under its own name."""

from __future__ import annotations

import pytest

from activities.catalogue import default_catalogue
from interpreter.bounded import Budget
from interpreter.compiler import check_text, compile_text
from interpreter.definitions import AdmittedDefinition, DefinitionNameError, admit
from interpreter.errors import DefinitionError
from tests.interpreter.test_bounded import sleepy_catalogue

VALID = """\
name: hello
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: hello
    type: debug.echo
    inputs:
      title: "{{ $trigger.incident_io.title }}"
"""


def test_a_valid_text_is_admitted_with_its_plan() -> None:
    admitted = admit("hello", VALID, catalogue=default_catalogue)
    expected = compile_text(VALID, file="hello.yaml", catalogue=default_catalogue())
    assert admitted == AdmittedDefinition("hello", VALID, expected)
    assert admitted.plan.name == "hello" and list(admitted.plan.steps) == ["hello"]


def test_an_invalid_text_is_refused_with_every_diagnostic() -> None:
    bad = VALID.replace("debug.echo", "debug.ech").replace("$trigger", "$trigge")
    expected = check_text(bad, file="broken.yaml", catalogue=default_catalogue())
    assert len(expected) >= 2
    with pytest.raises(DefinitionError) as caught:
        admit("broken", bad, catalogue=default_catalogue)
    assert caught.value.diagnostics == expected
    assert all(d.render().startswith("broken.yaml:") for d in caught.value.diagnostics)


def test_the_text_is_checked_in_the_budgeted_child_before_it_is_compiled() -> None:
    # The child's catalogue sleeps: only the budget's stop answers, and nothing is compiled.
    budget = Budget(0.5, 256 * 1024 * 1024)
    with pytest.raises(DefinitionError) as caught:
        admit("hello", VALID, catalogue=sleepy_catalogue, budget=budget)
    assert [d.render() for d in caught.value.diagnostics] == [
        "hello.yaml:1:1: checking the definition took longer than 0.5 s; it was stopped "
        "(make the definition smaller or simpler)"
    ]


def test_the_yaml_name_must_be_the_name_it_is_stored_under() -> None:
    with pytest.raises(DefinitionNameError) as caught:
        admit("other-name", VALID, catalogue=default_catalogue)
    assert (caught.value.declared, caught.value.given) == ("hello", "other-name")
    assert str(caught.value) == (
        "the YAML names this definition 'hello', not 'other-name': the name in the YAML is "
        "the name (store it as 'hello', or change its name:)"
    )
