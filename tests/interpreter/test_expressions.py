"""The expression language: syntax, semantics, static checks, limits and escape attempts."""

from __future__ import annotations

from typing import Any

import pytest

from interpreter import expressions as ex
from interpreter.errors import EvaluationError, ExpressionError
from interpreter.shapes import ANY, ListShape, ObjectShape, ScalarShape, Shape

CTX = ex.Context(
    trigger={
        "incident_io": {
            "severity": "SEV-1",
            "title": "DB down",
            "count": 3,
            "ratio": 1.0,
            "tags": ["db", "prod"],
            "team": None,
            "nested": {"a": {"b": 7}},
        }
    },
    steps={"agent": {"summary": "restarted", "artifacts": [{"name": "log"}]}},
    workflow={"name": "route", "agent": {"name": "incident-responder"}},
    skipped=frozenset({"ticket"}),
)


def run(source: str) -> Any:
    return ex.evaluate(ex.parse_expression(source), CTX, source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("$trigger.incident_io.severity == 'SEV-1'", True),
        ('$trigger.incident_io.severity == "SEV-2"', False),
        ("$trigger.incident_io.severity != 'SEV-2'", True),
        ("$trigger.incident_io.count >= 3 && $trigger.incident_io.count < 4", True),
        ("$trigger.incident_io.count > 3 || $trigger.incident_io.count <= 2", False),
        ("!($trigger.incident_io.count == 3)", False),
        ("$trigger.incident_io.ratio == 1", True),
        ("'db' in $trigger.incident_io.tags", True),
        ("'down' in $trigger.incident_io.title", True),
        ("'severity' in $trigger.incident_io", True),
        ("$trigger.incident_io.severity in ['SEV-1', 'SEV-2']", True),
        ("$trigger.incident_io.tags[1]", "prod"),
        ("$trigger.incident_io.tags[-1]", "prod"),
        ("$trigger.incident_io['severity']", "SEV-1"),
        ("$trigger.incident_io.nested.a['b']", 7),
        ("$steps.agent.artifacts[0].name", "log"),
        ("$workflow.agent.name", "incident-responder"),
        ("lower($trigger.incident_io.title)", "db down"),
        ("upper('x')", "X"),
        ("trim('  x ')", "x"),
        ("contains($trigger.incident_io.tags, 'db')", True),
        ("startsWith($trigger.incident_io.severity, 'SEV')", True),
        ("endsWith($trigger.incident_io.title, 'up')", False),
        ("len($trigger.incident_io.tags)", 2),
        ("join($trigger.incident_io.tags, '+')", "db+prod"),
        ("string(12)", "12"),
        ("has($steps.agent.summary)", True),
        ("has($steps.agent.nope)", False),
        ("has($steps.ticket)", False),
        ("has($trigger.incident_io.team)", False),
        ("default($steps.ticket.url, 'none')", "none"),
        ("default($trigger.incident_io.team, 'unassigned')", "unassigned"),
        ("default($steps.agent.summary, 'none')", "restarted"),
        ("$steps.ticket.url", None),
        ("null == $steps.ticket.url", True),
        ("-1 < 0", True),
        ("1.5e1 == 15", True),
        ("'it\\'s' == \"it's\"", True),
        ("[1, 'a', true, null]", [1, "a", True, None]),
        ("true && false || true", True),
    ],
)
def test_evaluates(source: str, expected: Any) -> None:
    assert run(source) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("$trigger.incident_io.nope", "no field 'nope' in $trigger.incident_io"),
        ("$trigger.incident_io.team.name", "is null and has no field"),
        ("$trigger.incident_io.tags[5]", "out of range"),
        ("$trigger.incident_io.count && true", "'&&' needs true or false"),
        ("$trigger.incident_io.title < 3", "cannot compare"),
        ("$steps.missing.x", "step 'missing' has not run"),
        ("lower(3)", "lower(): expected text"),
        ("1 in 'abc'", "'in' cannot look for"),
    ],
)
def test_evaluation_errors(source: str, message: str) -> None:
    with pytest.raises(EvaluationError) as info:
        run(source)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("source", "message", "offset"),
    [
        ("$trigger.x == = 'a'", "unexpected character '='", 14),
        ("$trig.x", "unknown variable '$trig'", 0),
        ("trigger.x", "unknown name 'trigger'", 0),
        ("a and b", "unknown name 'a'", 0),
        ("lowr($trigger)", "unknown function 'lowr'", 0),
        ("lower()", "lower() takes 1 argument(s), got 0", 0),
        ("$trigger.x ==", "expected a value", 13),
        ("'abc", "unexpected character", 0),
        ("1 + 2", "unexpected character '+'", 2),
        ("1 == 1 == 1", "comparisons cannot be chained", 7),
        ("", "empty expression", 0),
        ("$trigger.(x)", "expected a field name", 9),
        ("has('x')", "has() takes a field path", 0),
        ("-$trigger.x", "'-' only negates number literals", 0),
        ("$trigger.x(1)", "only helper functions can be called", 10),
    ],
)
def test_syntax_errors(source: str, message: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as info:
        ex.parse_expression(source)
    assert message in str(info.value)
    assert info.value.offset == offset


@pytest.mark.parametrize(
    "source",
    [
        "$trigger.__class__",
        "$trigger.incident_io.__globals__",
        "$trigger['__class__']['__mro__']",
        "__import__('os')",
        "$workflow.name.format(1)",
        "'{0.__class__}'.format($trigger)",
        "'a' * 100000000",
        "eval('1')",
        "open('/etc/passwd')",
        "[x for x in $trigger]",
        "lambda: 1",
        "$trigger.x if true else 1",
    ],
)
def test_escape_attempts_are_rejected(source: str) -> None:
    """Nothing reaches Python attributes, builtins or formatting: parse or evaluation says no."""
    with pytest.raises(ExpressionError):
        run(source)


def test_dunder_keys_in_data_are_only_data() -> None:
    ctx = ex.Context(trigger={"__class__": "just a key"}, steps={}, workflow={})
    source = "$trigger['__class__']"
    assert ex.evaluate(ex.parse_expression(source), ctx, source) == "just a key"


def test_huge_repetition_is_bounded() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        ex.parse_expression("1 == " + "1" * ex.MAX_SOURCE)
    with pytest.raises(ExpressionError, match=r"too complex|nested too deeply"):
        ex.parse_expression("!" * 300 + "true")
    with pytest.raises(ExpressionError, match=r"too complex|nested too deeply"):
        ex.parse_expression("[" * 100 + "]" * 100)
    big = ex.Context(trigger={"xs": ["y" * 1000] * 1000}, steps={}, workflow={})
    source = "join($trigger.xs, '')"
    with pytest.raises(EvaluationError, match="longer than"):
        ex.evaluate(ex.parse_expression(source), big, source)


def test_template_keeps_type_of_single_expression() -> None:
    assert ex.render(ex.parse_template("{{ $trigger.incident_io.count }}"), CTX) == 3
    assert ex.render(ex.parse_template("  {{ $trigger.incident_io.tags }} "), CTX) == ["db", "prod"]
    text = "n={{ $trigger.incident_io.count }} t={{ $trigger.incident_io.tags }} x={{ $steps.ticket.url }}!"
    assert ex.render(ex.parse_template(text), CTX) == 'n=3 t=["db","prod"] x=!'
    assert ex.render(ex.parse_template("{{ true }} {{ null }}"), CTX) == "true "
    assert ex.render(ex.parse_template("no expressions"), CTX) == "no expressions"


def test_template_errors_point_into_the_text() -> None:
    with pytest.raises(ExpressionError) as info:
        ex.parse_template("hello {{ $x }}")
    assert info.value.offset == 9
    with pytest.raises(ExpressionError, match="not closed"):
        ex.parse_template("a {{ $trigger")
    template = ex.parse_template("a {{ '}}' }} b")
    assert ex.render(template, CTX) == "a }} b"
    with pytest.raises(EvaluationError) as err:
        ex.render(ex.parse_template("ok {{ $trigger.nope }}"), CTX)
    assert err.value.offset == 6


SCOPE = ex.Scope(
    trigger=ObjectShape(
        {"incident_io": ObjectShape({"title": ScalarShape("string"), "tags": ListShape(ANY)})}
    ),
    workflow=ObjectShape({"name": ScalarShape("string")}),
    step_shapes={"agent": ObjectShape({"summary": ScalarShape("string")}), "later": ANY},
    visible_steps=frozenset({"agent"}),
    all_steps=frozenset({"agent", "later"}),
)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "$trigger.incident_io.titel",
            "unknown field 'titel' in $trigger.incident_io (did you mean 'title'?)",
        ),
        ("$trigger.incident_io.title.x", "is a string and has no field 'x'"),
        ("$steps.later.x", "step 'later' cannot have run before this point"),
        ("$steps.agnet.summary", "unknown step 'agnet' (did you mean 'agent'?)"),
        ("$steps.agent.sumary", "did you mean 'summary'"),
        ("$workflow.nam", "unknown field 'nam'"),
        ("default($trigger.incident_io.titel, 'x')", "unknown field 'titel'"),
    ],
)
def test_static_check(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        ex.check(ex.parse_expression(source), SCOPE, source)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("source", "shape"),
    [
        ("$trigger.incident_io.tags[0].anything", ANY),
        ("$trigger.incident_io.tags", ListShape(ANY)),
        ("has($steps.later)", ScalarShape("boolean")),
        ("$steps.agent.summary == 'x'", ScalarShape("boolean")),
        ("$steps.agent.summary", ScalarShape("string")),
        ("$workflow.name", ScalarShape("string")),
    ],
)
def test_static_check_accepts(source: str, shape: Shape) -> None:
    assert ex.check(ex.parse_expression(source), SCOPE, source) == shape


def test_values_equal_is_json_equality() -> None:
    assert ex.values_equal(1, 1.0)
    assert not ex.values_equal(True, 1)
    assert not ex.values_equal("1", 1)
    assert ex.values_equal({"a": [1, 2]}, {"a": [1.0, 2]})
    assert not ex.values_equal([1], [1, 2])
    assert ex.to_text({"b": 1, "a": None}) == '{"a":null,"b":1}'
    assert ex.to_text(False) == "false"
    assert ex.to_text(2.5) == "2.5"
