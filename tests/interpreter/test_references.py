"""Inputs that name an earlier step, declared by the catalogue (slack.post's ``threadOf``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from activities.catalogue import default_catalogue
from interpreter.compiler import check_text, compile_text
from interpreter.nodes import Catalogue, NodeSpec, StepReference
from interpreter.plan import LEGACY_THREAD_OF, ActionStep, Location, Plan, ReferencePlan


class NoteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    replyTo: str | None = None
    parent: str | None = None


class NoteOutput(BaseModel):
    id: str


REPLY_TO = StepReference(input="replyTo", node="note.add", output="id", into="parent")
"""A reference declared with no literal form and no hint: every value must be a step id."""

CATALOGUE = default_catalogue().merged(
    Catalogue(
        nodes={"note.add": NodeSpec("note.add", NoteInput, NoteOutput, references=(REPLY_TO,))},
        triggers={},
    )
)

NOTES = """name: notes
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: first
    type: note.add
    inputs: {{text: first}}
  - id: echo
    type: debug.echo
    inputs: {{message: hi}}
  - id: reply
    type: note.add
    inputs: {{text: reply, replyTo: {target}}}
"""


def errors(target: str) -> list[str]:
    text = NOTES.format(target=target)
    return [d.render() for d in check_text(text, file="notes.yaml", catalogue=CATALOGUE)]


def test_a_declared_reference_is_checked_with_the_catalogues_names() -> None:
    assert errors("first") == []
    assert errors("frist") == [
        "notes.yaml:13:36: replyTo 'frist' is not a step (did you mean 'first'?)"
    ]
    assert errors("echo") == [
        "notes.yaml:13:36: replyTo must name a note.add step ('echo' is debug.echo)"
    ]
    # No literal form: a value like a Slack ts is a step id like any other.
    assert errors('"1700000000.000100"') == [
        "notes.yaml:13:36: replyTo '1700000000.000100' is not a step"
    ]
    # An expression is not a step id: it is checked as an expression.
    assert errors('"{{ $steps.first.id }}"') == []


def test_a_reference_that_cannot_have_run_before_has_the_catalogues_hint_or_none() -> None:
    text = (
        NOTES.format(target="later") + "  - id: later\n    type: note.add\n    inputs: {text: x}\n"
    )
    assert [d.render() for d in check_text(text, file="notes.yaml", catalogue=CATALOGUE)] == [
        "notes.yaml:13:36: replyTo 'later' names a step that cannot have run before 'reply'"
    ]


def test_slack_thread_of_accepts_a_ts_as_it_is() -> None:
    text = """name: t
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: reply
    type: slack.post
    inputs: {channel: "#c", message: m, threadOf: "1700000000.000100"}
"""
    plan = compile_text(text, file="t.yaml", catalogue=CATALOGUE)
    step = plan.steps["reply"]
    assert isinstance(step, ActionStep) and step.references == (LEGACY_THREAD_OF,)


def test_the_plan_carries_a_reference_only_for_a_step_that_sets_its_input() -> None:
    plan = compile_text(NOTES.format(target="first"), file="notes.yaml", catalogue=CATALOGUE)
    first, reply = plan.steps["first"], plan.steps["reply"]
    assert isinstance(first, ActionStep) and first.references == ()
    assert isinstance(reply, ActionStep) and reply.references == (REPLY_TO.plan(),)
    dumped = plan.model_dump(mode="json")["steps"]
    assert "references" not in dumped["first"]
    assert dumped["reply"]["references"] == [
        {"input": "replyTo", "output": "id", "into": "parent", "unresolved": REPLY_TO.unresolved}
    ]
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def _reply(*references: ReferencePlan) -> ActionStep:
    return ActionStep(
        id="reply",
        type="note.add",
        location=Location(file="n.yaml", line=1, col=1),
        inputs={"text": "x", "replyTo": "first"},
        references=references,
    )


def test_a_reference_resolves_to_the_named_steps_output() -> None:
    step = _reply(REPLY_TO.plan())
    inputs = {"text": "x", "replyTo": "first"}
    assert step.resolve_references(inputs, {"first": {"id": "n1"}}, {"first", "reply"}) == (
        {"text": "x", "parent": "n1"},
        [],
    )
    # An input the step set itself wins over the resolved one.
    assert step.resolve_references(
        {**inputs, "parent": "mine"}, {"first": {"id": "n1"}}, {"first", "reply"}
    ) == ({"text": "x", "parent": "mine"}, [])


def test_a_reference_to_a_step_without_that_output_is_dropped_with_a_warning() -> None:
    step = _reply(REPLY_TO.plan())
    inputs = {"text": "x", "replyTo": "first"}
    for outputs in ({}, {"first": None}, {"first": {"id": 7}}):
        assert step.resolve_references(inputs, outputs, {"first", "reply"}) == (
            {"text": "x"},
            ["step 'reply': 'first' has no such output; leaving the input unset"],
        )


def test_a_value_that_is_no_step_id_or_not_a_string_is_left_as_it_is() -> None:
    step = _reply(REPLY_TO.plan())
    for value in ("1700000000.000100", 3, None):
        inputs = {"text": "x", "replyTo": value}
        assert step.resolve_references(inputs, {}, {"first", "reply"}) == (inputs, [])
    assert _reply().resolve_references({"replyTo": "first"}, {}, {"first"}) == (
        {"replyTo": "first"},
        [],
    )


def test_a_slack_post_of_a_plan_older_than_references_still_resolves_thread_of() -> None:
    old = {
        "id": "reply",
        "type": "slack.post",
        "kind": "action",
        "location": "t.yaml:5:5",
        "inputs": {"channel": "#c", "message": "m", "threadOf": "top"},
    }
    step = ActionStep.model_validate(old)
    assert step.references == (LEGACY_THREAD_OF,)
    assert step.resolve_references(step.inputs, {"top": {"ts": "1.2"}}, {"top", "reply"}) == (
        {"channel": "#c", "message": "m", "threadTs": "1.2"},
        [],
    )
    # Without threadOf, or with a references list (even empty), nothing is added.
    inputs = {"channel": "#c", "message": "m"}
    assert ActionStep.model_validate({**old, "inputs": inputs}).references == ()
    assert ActionStep.model_validate({**old, "references": []}).references == ()
    assert ActionStep.model_validate({**old, "type": "debug.echo"}).references == ()
    no_inputs = {k: v for k, v in old.items() if k != "inputs"}
    assert ActionStep.model_validate(no_inputs).references == ()
