"""Validation against a catalogue: node inputs, output shapes, visibility of steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict

from activities.catalogue import default_catalogue
from interpreter.compiler import check_text, compile_text
from interpreter.errors import DefinitionError
from interpreter.nodes import Catalogue, NodeSpec, RetryDefaults


class PostInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    message: str
    priority: int = 0
    mode: Literal["plain", "rich"] = "plain"


class PostOutput(BaseModel):
    channel: str
    ts: str


class WaitInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout: str


FAKE = default_catalogue().merged(
    Catalogue(
        nodes={
            "slack.post": NodeSpec(
                "slack.post", PostInput, PostOutput, retry=RetryDefaults(maximum_attempts=7)
            ),
            "fake.wait": NodeSpec(
                "fake.wait",
                WaitInput,
                kind="wait",
                branches=("onTimeout",),
                timeout=timedelta(minutes=5),
            ),
        },
        triggers={},
    )
)

HEAD = "trigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"


def problems(steps: str) -> list[str]:
    return [d.render() for d in check_text(HEAD + steps, file="t.yaml", catalogue=FAKE)]


def test_node_inputs_are_checked_against_the_model() -> None:
    found = problems(
        "  - id: post\n"
        "    type: slack.post\n"
        "    inputs:\n"
        "      chanel: '#x'\n"
        "      priority: high\n"
        "      mode: loud\n"
    )
    assert found == [
        "t.yaml:6:5: missing required input 'channel' for 'slack.post'",
        "t.yaml:6:5: missing required input 'message' for 'slack.post'",
        "t.yaml:7:7: unknown input 'chanel' for 'slack.post' (did you mean 'channel'?)",
        "t.yaml:8:17: input 'priority' of 'slack.post' is invalid: Input should be a valid integer, "
        "unable to parse string as an integer",
        "t.yaml:9:13: input 'mode' of 'slack.post' is invalid: Input should be 'plain' or 'rich'",
    ]


def test_text_template_into_a_typed_input_is_caught() -> None:
    found = problems(
        "  - id: post\n    type: slack.post\n    inputs:\n      channel: x\n      message: m\n"
        "      priority: 'P{{ $trigger.incident_io.severity }}'\n"
    )
    assert len(found) == 1
    assert (
        "input 'priority' of 'slack.post' renders to text, but input should be a valid integer"
        in found[0]
    )
    ok = problems(
        "  - id: post\n    type: slack.post\n    inputs:\n      channel: x\n      message: m\n"
        "      priority: '{{ len($trigger.incident_io.title) }}'\n"
    )
    assert ok == []


def test_missing_inputs_block_is_reported_at_the_step() -> None:
    assert problems("  - id: post\n    type: slack.post\n") == [
        "t.yaml:4:5: missing required input 'channel' for 'slack.post'",
        "t.yaml:4:5: missing required input 'message' for 'slack.post'",
    ]


def test_node_outputs_are_checked_statically() -> None:
    found = problems(
        "  - id: post\n    type: slack.post\n    inputs: {channel: x, message: m}\n"
        "  - id: echo\n    type: debug.echo\n    inputs:\n      a: '{{ $steps.post.tss }}'\n"
    )
    assert found == ["t.yaml:10:26: unknown field 'tss' in $steps.post (did you mean 'ts'?)"]


def test_branch_keys_follow_the_node() -> None:
    assert (
        problems(
            "  - id: wait\n    type: fake.wait\n    inputs: {timeout: 1h}\n    onTimeout: [late]\n"
            "  - id: late\n    type: debug.echo\n"
        )
        == []
    )
    found = problems(
        "  - id: wait\n    type: fake.wait\n    inputs: {timeout: 1h}\n    onTrue: [x]\n"
    )
    assert found == [
        "t.yaml:7:5: 'onTrue' does not apply to a 'fake.wait' step ('fake.wait' accepts onTimeout)",
        "t.yaml:7:14: branch target 'x' is not a step",
    ]


def test_sibling_branches_cannot_read_each_other() -> None:
    found = problems(
        "  - id: gate\n    type: condition\n    condition: '{{ true }}'\n    onTrue: [a]\n    onFalse: [b]\n"
        "  - id: a\n    type: debug.echo\n"
        "  - id: b\n    type: debug.echo\n    inputs:\n      x: '{{ $steps.a }}'\n"
        "  - id: after\n    type: debug.echo\n    inputs:\n      x: '{{ $steps.a }} {{ $steps.b }} {{ $steps.gate.branch }}'\n"
    )
    assert found == [
        "t.yaml:14:14: step 'a' cannot have run before this point (a step can only read steps that run before it)"
    ]


def test_steps_inside_a_branch_read_earlier_branch_steps() -> None:
    assert (
        problems(
            "  - id: gate\n    type: condition\n    condition: '{{ true }}'\n    onTrue: [a, b]\n"
            "  - id: a\n    type: debug.echo\n"
            "  - id: b\n    type: debug.echo\n    inputs:\n      x: '{{ $steps.a }}'\n"
        )
        == []
    )


def test_filter_must_be_one_expression_over_the_trigger() -> None:
    text = (
        "trigger:\n  type: trigger.incident_io.incident.created\n  filter: 'team is {{ $trigger.incident_io.team }}'\n"
        "steps:\n  - id: a\n    type: debug.echo\n"
    )
    found = [d.render() for d in check_text(text, file="t.yaml", catalogue=FAKE)]
    assert found == [
        "t.yaml:3:11: expected exactly one expression in '{{ }}' "
        "(for example \"{{ $trigger.incident_io.severity == 'SEV-1' }}\")"
    ]
    text = text.replace("team is {{ $trigger.incident_io.team }}", "{{ $steps.a.x == 1 }}")
    found = [d.render() for d in check_text(text, file="t.yaml", catalogue=FAKE)]
    assert found == [
        "t.yaml:3:15: step 'a' cannot have run before this point (a step can only read steps that run before it)"
    ]


@pytest.mark.parametrize(
    ("agent", "expected"),
    [("incident-responder", "incident-responder"), ("{name: helper, description: d}", "helper")],
)
def test_agent_forms(agent: str, expected: str) -> None:
    text = (
        "agent: "
        + agent
        + "\n"
        + HEAD
        + "  - id: a\n    type: debug.echo\n    inputs:\n      x: '{{ $workflow.agent.name }}'\n"
    )
    plan = compile_text(text, file="t.yaml", catalogue=FAKE)
    assert plan.agent is not None and plan.agent.name == expected


def test_compile_raises_with_every_problem() -> None:
    with pytest.raises(DefinitionError) as info:
        compile_text(
            HEAD + "  - id: a\n    type: nope\n  - id: a\n    type: debug.echo\n",
            file="t.yaml",
            catalogue=FAKE,
        )
    assert [d.message for d in info.value.diagnostics] == [
        "unknown node type 'nope'",
        "duplicate step id 'a'",
    ]
    assert str(info.value).startswith("t.yaml:5:11: unknown node type 'nope'")


def test_continue_on_error_steps_expose_their_error() -> None:
    text = (
        "  - id: post\n    type: slack.post\n    continueOnError: true\n    inputs: {channel: x, message: m}\n"
        "  - id: echo\n    type: debug.echo\n    inputs:\n      a: '{{ default($steps.post.error, $steps.post.ts) }}'\n"
    )
    assert problems(text) == []
    strict = text.replace("    continueOnError: true\n", "")
    assert problems(strict) == [
        "t.yaml:10:34: unknown field 'error' in $steps.post (known fields: channel, ts)"
    ]
