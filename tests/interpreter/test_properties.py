"""Property-based tests: the loader and the expression parser answer every input with a value
or a positioned diagnostic, never an unexpected exception."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interpreter import expressions as ex
from interpreter.compiler import check_text
from interpreter.errors import Diagnostic, ExpressionError
from interpreter.loader import load_yaml
from interpreter.nodes import Catalogue

FAST = settings(max_examples=200, deadline=None, derandomize=True, database=None)

YAML_PIECES = st.sampled_from(
    [
        "a",
        "b:",
        " ",
        "  ",
        "\n",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "&x ",
        "*x",
        "&y ",
        "*y",
        "<<: ",
        "!!str ",
        "!!binary ",
        "'",
        '"',
        "#",
        "---\n",
        "...\n",
        "? ",
        "|\n",
        ">\n",
        "\t",
        "0x1F",
        "1e9",
        "~",
        "true",
        "yes",
        "2024-01-01",
        "{{ $trigger }}",
        "\\u0000",
    ]
)
yaml_like = st.lists(YAML_PIECES, max_size=60).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=40,
)


def _positioned(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        assert d.position.line >= 1 and d.position.col >= 1
        assert d.render().startswith("t.yaml:")


@FAST
@given(st.text(max_size=300) | yaml_like)
def test_the_loader_never_raises(text: str) -> None:
    doc, diagnostics = load_yaml(text, file="t.yaml")
    _positioned(diagnostics)
    if not diagnostics:
        assert doc.data is not None or text.strip() != ""


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(json_values)
def test_dumped_data_loads_back(value: Any) -> None:
    text = yaml.safe_dump({"root": value})
    doc, diagnostics = load_yaml(text, file="t.yaml")
    assert diagnostics == []
    assert doc.data == {"root": value}


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=yaml_like | st.text(max_size=200))
def test_the_compiler_answers_with_diagnostics_only(text: str, catalogue: Catalogue) -> None:
    head = "trigger:\n  type: trigger.incident_io.incident.created\nsteps:\n  - id: a\n    type: debug.echo\n    inputs:\n      v: "
    _positioned(check_text(head + text, file="t.yaml", catalogue=catalogue))
    _positioned(check_text(text, file="t.yaml", catalogue=catalogue))


EXPRESSION_PIECES = st.sampled_from(
    [
        "$trigger",
        "$steps",
        "$workflow",
        "$nope",
        ".",
        ".a",
        "[",
        "]",
        "(",
        ")",
        "!",
        "-",
        "1",
        "2.5",
        "1e3",
        "'s'",
        '"t"',
        "'",
        '"',
        "\\",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "&&",
        "||",
        " in ",
        ",",
        "has(",
        "default(",
        "len(",
        "join(",
        "lower(",
        "nope(",
        "true",
        "false",
        "null",
        " ",
        "__x",
        "{",
        "}",
        "+",
        "=",
        "\u2028",
        "\x00",
    ]
)
expression_like = st.lists(EXPRESSION_PIECES, max_size=80).map("".join)


@FAST
@given(expression_like | st.text(max_size=100))
def test_the_expression_parser_never_raises_anything_else(source: str) -> None:
    try:
        node = ex.parse_expression(source)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(source)
        return
    # The walkers over the tree (static check, evaluation) answer with an error, too.
    context = ex.Context(trigger={"a": [1, "x"]}, steps={}, workflow={})
    for walk in (
        lambda: ex.check(node, ex.Scope(), source),
        lambda: ex.evaluate(node, context, source),
    ):
        try:
            walk()
        except ExpressionError as exc:
            assert 0 <= exc.offset <= len(source)


@FAST
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["!", "(", "[", "-", "has("]))
def test_any_run_of_openers_is_a_diagnostic(count: int, opener: str) -> None:
    source = opener * count + "1"
    try:
        ex.parse_expression(source[: ex.MAX_SOURCE])
    except ExpressionError as exc:
        assert 0 <= exc.offset <= ex.MAX_SOURCE


@FAST
@given(expression_like)
def test_templates_never_raise_anything_else(source: str) -> None:
    text = "x {{ " + source + " }} y"
    try:
        template = ex.parse_template(text)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(text)
        return
    assert template.source == text
