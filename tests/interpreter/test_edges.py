"""Edge cases of the interpreter package: the loader, schema helpers, shapes, and rarer paths."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from interpreter import expressions as ex
from interpreter.compiler import check_text, compile_file
from interpreter.errors import (
    DefinitionError,
    Diagnostic,
    EvaluationError,
    ExpressionError,
    Position,
)
from interpreter.loader import load_yaml, raw_offset
from interpreter.nodes import Catalogue
from interpreter.plan import NodeContext
from interpreter.schema import parse_duration
from interpreter.shapes import ANY, ListShape, ObjectShape, ScalarShape, shape_of_annotation

HEAD = "trigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"


def problems(text: str, catalogue: Catalogue) -> list[str]:
    return [d.render() for d in check_text(text, file="t.yaml", catalogue=catalogue)]


def test_loader_positions_fall_back_to_the_closest_known_node() -> None:
    doc, found = load_yaml("a:\n  b: [1, 2]\n", file="t.yaml")
    assert found == []
    assert doc.position(("a", "b", 5, "deeper")) == Position(2, 6)
    assert doc.position(("zzz",)) == Position(1, 1)
    assert doc.position(("a", "b", 1), key=True) == Position(2, 10)
    assert doc.value_position(("a",), "x", 0) == Position(2, 3)  # a mapping has no raw text
    assert doc.offset_position(("a",), 3) == Position(2, 3)
    assert raw_offset("{{ a }}", "no braces here", 3) == 0
    assert raw_offset("plain", "plain", 2) == 0


def test_loader_values_and_refusals() -> None:
    doc, found = load_yaml("when: 2024-01-01\nblob: !!binary aGVsbG8=\n", file="t.yaml")
    assert found == [] and doc.data == {"when": "2024-01-01", "blob": "hello"}
    _, found = load_yaml("? [a, b]\n: 1\n", file="t.yaml")
    assert [d.message for d in found] == ["mapping keys must be plain strings"]
    _, found = load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n", file="t.yaml")
    assert [d.message for d in found] == ["YAML merge keys ('<<') are not supported"]
    _, found = load_yaml("a: 1\x00\n", file="t.yaml")
    assert found[0].message.startswith("YAML")
    _, found = load_yaml("a: !!python/object:os.system x\nb: !!binary '***'\n", file="t.yaml")
    assert [d.render() for d in found] == [
        "t.yaml:1:4: cannot read this value: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system'"
    ]
    doc, found = load_yaml("flag: yes\nother: on\ntrue_: true\n", file="t.yaml")
    assert doc.data == {"flag": "yes", "other": "on", "true_": True}  # YAML 1.2 booleans


def test_diagnostics_render_with_and_without_hints() -> None:
    plain = Diagnostic("f.yaml", Position(3, 4), "bad")
    assert str(plain) == "f.yaml:3:4: bad"
    assert (
        Diagnostic("f.yaml", Position(1, 1), "bad", "try this").render()
        == "f.yaml:1:1: bad (try this)"
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(30, 30.0), (1.5, 1.5), ("1h30m", 5400.0), ("500ms", 0.5), ("2d", 172800.0)],
)
def test_durations(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [(True, "expected a duration"), ("soon", "is not a duration"), ("0s", "greater than zero")],
)
def test_bad_durations(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


def test_shapes_describe_themselves() -> None:
    class Inner(BaseModel):
        x: Annotated[int, "meta"]
        ys: list[str]
        maybe: str | None = None
        either: int | str = 1

    shape = shape_of_annotation(Inner)
    assert isinstance(shape, ObjectShape)
    assert shape.fields["x"] == ScalarShape("number")
    assert shape.fields["ys"] == ListShape(ScalarShape("string"))
    assert shape.fields["maybe"] == ScalarShape("string")
    assert shape.fields["either"] is ANY
    assert (ANY.describe(), ListShape().describe(), shape.describe()) == (
        "any value",
        "a list",
        "an object",
    )
    assert hash(shape) == hash(ObjectShape(dict(shape.fields)))
    assert shape_of_annotation(Annotated[int, "meta"]) == ScalarShape("number")


def test_compile_file_reads_and_reports(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(HEAD + "  - id: a\n    type: debug.echo\n")
    plan = compile_file(path, catalogue=catalogue, version=4)
    assert (plan.name, plan.version, [s.id for s in plan.ordered_steps()]) == ("ok", 4, ["a"])
    with pytest.raises(DefinitionError, match="cannot read the file"):
        compile_file(tmp_path / "missing.yaml", catalogue=catalogue)
    path.write_text("a: [")
    with pytest.raises(DefinitionError, match="YAML syntax error"):
        compile_file(path, catalogue=catalogue)


def test_node_context_key_is_stable_per_run_and_step() -> None:
    context = NodeContext(workflow_id="wf", run_id="r1", step_id="s", definition="d")
    assert context.idempotency_key == "wf/s"
    assert context.model_copy(update={"run_id": "r2"}).idempotency_key == "wf/s"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ("  - 1\n", ["t.yaml:4:5: a step must be a mapping with 'id' and 'type'"]),
        (
            "  - id: c\n    type: condition\n    onTrue: []\n",
            ["t.yaml:4:5: condition step 'c' needs a 'condition'"],
        ),
        (
            "  - id: c\n    type: condition\n    condition: '{{ true }}'\n",
            ["t.yaml:4:5: condition step 'c' needs 'onTrue'/'onFalse' or 'cases'"],
        ),
        (
            "  - id: c\n    type: condition\n    condition: 5\n    onTrue: []\n",
            ["t.yaml:6:16: a condition is an expression in '{{ }}'"],
        ),
        (
            "  - id: c\n    type: condition\n    condition: '{{ 1 }}'\n    cases:\n      - default: []\n        value: 1\n      - value: 2\n      - default: []\n",
            [
                "t.yaml:7:5: only one default case is allowed",
                "t.yaml:8:9: a default case holds only 'default: [steps]'",
                "t.yaml:8:9: the default case must come last",
                "t.yaml:10:9: a case needs 'value' and 'steps' (or is 'default: [steps]')",
            ],
        ),
        (
            "  - id: a\n    type: debug.echo\n    inputs: {x: '{{ broken'}\n",
            ["t.yaml:6:18: '{{' is not closed by '}}'"],
        ),
    ],
)
def test_structural_problems(steps: str, expected: list[str], catalogue: Catalogue) -> None:
    assert problems(HEAD + steps, catalogue) == expected


def test_unknown_key_inside_a_case_and_broken_templates_in_typed_inputs(
    catalogue: Catalogue,
) -> None:
    steps = "  - id: c\n    type: condition\n    condition: '{{ 1 }}'\n    cases:\n      - {value: 1, steps: [], bogus: 2}\n"
    assert problems(HEAD + steps, catalogue) == ["t.yaml:8:31: unknown key 'bogus'"]
    steps = "  - id: p\n    type: slack.post\n    inputs: {channel: x, message: '{{ broken'}\n"
    assert problems(HEAD + steps, catalogue) == ["t.yaml:6:36: '{{' is not closed by '}}'"]


def test_missing_keys_and_nested_unknown_keys(catalogue: Catalogue) -> None:
    assert problems("trigger: {}\nsteps:\n  - id: a\n    type: debug.echo\n", catalogue) == [
        "t.yaml:1:10: missing required key 'type' in trigger"
    ]
    found = problems(
        "agent: {name: x, nme: y}\n" + HEAD + "  - id: a\n    type: debug.echo\n", catalogue
    )
    assert len(found) >= 1 and all("agent" in f or "nme" in f for f in found)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{ $trigger }", "unexpected character '{'"),
        ("'\\q'", "unknown escape '\\q'"),
        ("($trigger", "expected ')' but found the end of the expression"),
        ("lower('a' 'b')", "expected ',' or ')'"),
        ("and true", "unknown name 'and' (use '&&', '||' and '!')"),
        ("[" + "1, " * 450 + "1]", "expression is too complex"),
    ],
)
def test_more_syntax_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        ex.parse_expression(source)
    assert message in str(info.value)


CTX = ex.Context(
    trigger={"incident_io": {"tags": ["a"], "n": 2, "big": "x" * 200_000}},
    steps={},
    workflow={},
)


def run(source: str) -> Any:
    return ex.evaluate(ex.parse_expression(source), CTX, source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("false && $trigger.nope", False),
        ("true || $trigger.nope", True),
        ("default($trigger.nope, 1)", 1),
        ("contains('abc', 'b')", True),
        ("contains($trigger.incident_io, 'n')", True),
        ("$trigger.incident_io.tags[0]", "a"),
        ("$trigger['incident_io']['n']", 2),
    ],
)
def test_more_evaluation(source: str, expected: Any) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("$trigger.incident_io[0]", "objects are indexed by strings, not numbers"),
        ("$trigger.incident_io.tags['x']", "is a list and has no field 'x'"),
        ("$trigger.incident_io.n.x", "is a number and has no field 'x'"),
        ("$trigger.incident_io.tags && true", "got a list"),
        ("$trigger.incident_io && true", "got an object"),
        ("null && true", "got null"),
        ("contains(1, 'a')", "expected text, a list or an object"),
        ("len(1)", "expected text, a list or an object"),
        ("join('x')", "expected a list"),
    ],
)
def test_more_evaluation_errors(source: str, message: str) -> None:
    with pytest.raises(EvaluationError, match=message.replace("[", "\\[")):
        run(source)


def test_rendered_text_is_bounded() -> None:
    template = ex.parse_template(
        "{{ $trigger.incident_io.big }} and {{ $trigger.incident_io.big }}"
    )
    with pytest.raises(EvaluationError, match="rendered text is longer than"):
        ex.render(template, CTX)
    assert ex.parse_template("just text").is_literal
    assert ex.render(ex.parse_template("a {{ 'x\\'}}' }} b"), CTX) == "a x'}} b"
    assert repr(ex.SKIPPED) == "SKIPPED"


def test_static_check_of_indexing_and_steps() -> None:
    scope = ex.Scope(
        trigger=ObjectShape(
            {
                "n": ScalarShape("number"),
                "o": ObjectShape({"k": ANY}),
                "l": ListShape(ScalarShape("string")),
            }
        ),
        step_shapes={"a": ObjectShape({"v": ANY})},
        visible_steps=frozenset({"a"}),
        all_steps=frozenset({"a"}),
    )
    assert ex.check(ex.parse_expression("$steps"), scope, "$steps") == ObjectShape(
        {"a": ObjectShape({"v": ANY})}
    )
    assert ex.check(ex.parse_expression("$trigger['o']"), scope, "$trigger['o']") == ObjectShape(
        {"k": ANY}
    )
    assert ex.check(ex.parse_expression("$trigger.l[0]"), scope, "$trigger.l[0]") == ScalarShape(
        "string"
    )
    assert ex.check(ex.parse_expression("$trigger.o.k[1]"), scope, "$trigger.o.k[1]") is ANY
    assert ex.check(ex.parse_expression("!$trigger.n"), scope, "!$trigger.n") == ScalarShape(
        "boolean"
    )
    assert ex.check(ex.parse_expression("null"), scope, "null") == ScalarShape("null")
    open_scope = ex.Scope(trigger=ObjectShape({"known": ANY}, open=True))
    assert (
        ex.check(ex.parse_expression("$trigger.anything"), open_scope, "$trigger.anything") is ANY
    )
    with pytest.raises(ExpressionError, match="is a number and cannot be indexed"):
        ex.check(ex.parse_expression("$trigger.n[0]"), scope, "$trigger.n[0]")
