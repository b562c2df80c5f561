"""Static checks for run safety: null $workflow fields, the echo-loop warning, loop knobs."""

from __future__ import annotations

from activities.catalogue import default_catalogue
from interpreter.compiler import check_text, compile_text, diagnose_text

CATALOGUE = default_catalogue()

ECHO = """name: echo
description: notes every change
trigger:
  type: trigger.incident_io.incident.updated
{trigger}steps:
  - id: note
    type: incident_io.timeline.add_event
    inputs:
      incidentId: "{{{{ $trigger.incident_io.incident_id }}}}"
      eventType: custom
      title: "{title}"
"""


def echo(*, trigger: str = "", title: str = "changed", head: str = "") -> str:
    return head + ECHO.format(trigger=trigger, title=title)


def rendered(text: str) -> list[str]:
    return [d.render() for d in diagnose_text(text, file="echo.yaml", catalogue=CATALOGUE)]


def test_workflow_agent_without_an_agent_is_an_error_at_its_position() -> None:
    text = echo(title="by {{ $workflow.agent.name }}").replace(
        "description: notes every change\n", ""
    )
    assert check_text(text, file="echo.yaml", catalogue=CATALOGUE)[0].render() == (
        "echo.yaml:10:21: $workflow.agent is null (the definition has no 'agent:') "
        "and has no field 'name'"
    )


def test_null_workflow_fields_are_known_and_default_handles_them() -> None:
    no_description = echo(
        trigger="  filter: \"{{ $trigger.incident_io.field == 'severity' }}\"\n",
        title="{{ $workflow.description[0] }}",
    ).replace("description: notes every change\n", "")
    [problem] = check_text(no_description, file="echo.yaml", catalogue=CATALOGUE)
    assert "$workflow.description is null (the definition has no 'description:')" in str(problem)
    with_agent = echo(
        head="agent: incident-responder\n",
        trigger="  filter: \"{{ $trigger.incident_io.field == 'severity' }}\"\n",
        title="{{ $workflow.agent.name }} {{ default($workflow.agent.description[0], '') }}",
    )
    assert rendered(with_agent) == []
    defaulted = echo(
        trigger="  filter: \"{{ $trigger.incident_io.field == 'severity' }}\"\n",
        title="{{ default($workflow.agent.name, 'rensei') }}",
    )
    assert rendered(defaulted) == []


def test_an_unfiltered_updated_definition_writing_its_incident_is_warned_about() -> None:
    [warning] = rendered(echo())
    assert warning.startswith(
        "echo.yaml:4:9: warning: this definition runs on every change of an incident, "
        "and step 'note' (incident_io.timeline.add_event) changes the same incident: "
        "rensei does not start it on its own changes"
    )
    assert "add a trigger.filter" in warning
    # a warning is not an error: the definition compiles and stores
    assert check_text(echo(), file="echo.yaml", catalogue=CATALOGUE) == []
    compile_text(echo(), file="echo.yaml", catalogue=CATALOGUE)
    [opted_in] = rendered(echo(trigger="  includeOwnChanges: true\n"))
    assert "until the loop breaker (trigger.maxRunsPerHour) stops it" in opted_in
    filtered = echo(trigger="  filter: \"{{ $trigger.incident_io.field == 'severity' }}\"\n")
    assert rendered(filtered) == []
    # writing to another, fixed incident is no echo of this one
    fixed = echo().replace("{{ $trigger.incident_io.incident_id }}", "01OTHER")
    assert rendered(fixed) == []


def test_loop_knobs_compile_into_the_plan_and_are_bounded() -> None:
    plan = compile_text(echo(), file="echo.yaml", catalogue=CATALOGUE)
    assert (plan.include_own_changes, plan.max_runs_per_hour) == (False, 10)
    assert plan.steps["note"].incident_write is not None
    knobs = "  includeOwnChanges: true\n  maxRunsPerHour: 3\n"
    plan = compile_text(echo(trigger=knobs), file="echo.yaml", catalogue=CATALOGUE)
    assert (plan.include_own_changes, plan.max_runs_per_hour) == (True, 3)
    [problem] = check_text(
        echo(trigger="  maxRunsPerHour: 0\n"), file="echo.yaml", catalogue=CATALOGUE
    )
    assert problem.render().startswith(
        "echo.yaml:5:19: trigger.maxRunsPerHour: Input should be greater than or equal to 1"
    )
