"""Hostile definitions meet a limit with a file:line:col diagnostic, in bounded time and memory."""

from __future__ import annotations

import pytest

from interpreter import expressions as ex
from interpreter import limits
from interpreter.compiler import check_text
from interpreter.errors import ExpressionError
from interpreter.loader import load_yaml
from interpreter.nodes import Catalogue

HEAD = "name: t\ntrigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join(["*" + previous] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def rendered(text: str) -> list[str]:
    return [d.render() for d in load_yaml(text, file="t.yaml")[1]]


def test_a_billion_laughs_stops_at_the_expansion_budget() -> None:
    text = billion_laughs()
    assert len(text) < 500
    assert rendered(text) == [
        f"t.yaml:5:4: the definition expands to more than {limits.MAX_YAML_VALUES} values "
        "(each use of a YAML alias counts in full)"
    ]


def test_aliases_within_the_budget_are_expanded() -> None:
    doc, found = load_yaml("a: &x [1, 2]\nb: *x\n", file="t.yaml")
    assert found == []
    assert doc.data == {"a": [1, 2], "b": [1, 2]}


def test_too_many_aliases_are_refused_before_composing() -> None:
    count = limits.MAX_YAML_ALIASES + 1
    text = "a: &x 1\nb: [" + ", ".join(["*x"] * count) + "]\n"
    found = rendered(text)
    assert len(found) == 1
    assert found[0].startswith(f"t.yaml:2:{5 + 4 * limits.MAX_YAML_ALIASES}: ")
    assert f"more than {limits.MAX_YAML_ALIASES} YAML aliases" in found[0]


def test_a_recursive_anchor_is_refused() -> None:
    assert rendered("a: &x [1, {b: *x}]\n") == [
        "t.yaml:1:4: a YAML alias refers to a value that contains it"
    ]


def test_aliases_that_nest_past_the_depth_limit_are_refused() -> None:
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 40)]
    found = rendered("\n".join(lines) + "\n")
    assert len(found) == 1
    assert f"nested more than {limits.MAX_YAML_DEPTH} levels deep" in found[0]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 40 + "]" * 40,
        "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "v: 1\n",
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused_with_its_position(text: str) -> None:
    found = rendered(text)
    assert len(found) == 1
    assert found[0].startswith("t.yaml:")
    assert f"values are nested more than {limits.MAX_YAML_DEPTH} levels deep" in found[0]


def test_nesting_deeper_than_libyaml_allows_is_a_diagnostic() -> None:
    found = rendered("[" * 5000 + "]" * 5000)
    assert len(found) == 1
    assert found[0].startswith("t.yaml:1:")
    assert "nest" in found[0]  # libyaml's own limit (1000) may answer first


def test_a_large_definition_is_refused_by_size_before_parsing() -> None:
    step = "  - id: s{n}\n    type: debug.echo\n    inputs: {{x: 1}}\n"
    text = HEAD + "".join(step.format(n=n) for n in range(6000))
    assert len(text) > limits.MAX_DEFINITION_BYTES
    assert rendered(text) == [
        f"t.yaml:1:1: the definition is larger than {limits.MAX_DEFINITION_BYTES} bytes"
    ]


def test_too_many_steps_is_one_diagnostic(catalogue: Catalogue) -> None:
    steps = "".join(f"  - {{id: s{n}, type: debug.echo}}\n" for n in range(limits.MAX_STEPS + 1))
    found = [d.render() for d in check_text(HEAD + steps, file="t.yaml", catalogue=catalogue)]
    assert found == [
        f"t.yaml:4:1: the definition has {limits.MAX_STEPS + 1} steps; the limit is "
        f"{limits.MAX_STEPS} (split it into several definitions)"
    ]


@pytest.mark.parametrize(
    "source",
    ["!" * 1000 + "$trigger", "(" * 900 + "1" + ")" * 900, "[" * 900 + "]" * 900],
    ids=["bangs", "parens", "lists"],
)
def test_deep_expressions_are_refused_before_recursing(source: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ex.parse_expression(source)
    assert caught.value.message == (
        f"expression is nested too deeply (more than {limits.MAX_EXPRESSION_DEPTH})"
    )
    # The offset points into the opening run, where the parser stopped descending.
    assert 0 < caught.value.offset <= limits.MAX_EXPRESSION_DEPTH


@pytest.mark.parametrize(
    "source",
    [
        "$trigger" + ".a" * 60,
        " && ".join(["true"] * 60),
    ],
    ids=["member-chain", "operator-chain"],
)
def test_long_chains_are_refused_by_tree_depth(source: str) -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        ex.parse_expression(source)


def test_expressions_within_the_depth_limit_still_parse() -> None:
    assert isinstance(ex.parse_expression("!" * 20 + "true"), ex.Unary)
    assert isinstance(ex.parse_expression(" && ".join(["true"] * 40)), ex.Binary)


def test_a_deep_expression_in_a_definition_has_its_file_position(catalogue: Catalogue) -> None:
    text = (
        HEAD
        + '  - id: a\n    type: debug.echo\n    inputs:\n      v: "{{ '
        + "!" * 1000
        + '$trigger }}"\n'
    )
    found = [d.render() for d in check_text(text, file="t.yaml", catalogue=catalogue)]
    assert len(found) == 1
    assert found[0].startswith("t.yaml:8:")
    assert "expression is nested too deeply" in found[0]
