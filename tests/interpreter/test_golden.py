"""Golden DSL fixtures: every valid file compiles; every invalid file yields its diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpreter.compiler import check_text, compile_text
from interpreter.nodes import Catalogue

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dsl"
EXAMPLES = Path(__file__).parent.parent.parent / "examples"
VALID = sorted((FIXTURES / "valid").glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))


def test_fixture_folders_are_populated() -> None:
    assert len(VALID) >= 4
    assert len(INVALID) >= 6


# Examples that use nodes built on other branches; strict, so the merge that adds the
# node turns these into failures until the entry is removed.
@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_definitions_compile(path: Path, catalogue: Catalogue) -> None:
    plan = compile_text(path.read_text(), file=path.name, catalogue=catalogue)
    assert plan.steps
    assert set(plan.root) <= set(plan.steps)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_definitions_report_expected_diagnostics(path: Path, catalogue: Catalogue) -> None:
    expected = path.with_suffix(".expected").read_text().splitlines()
    found = [d.render() for d in check_text(path.read_text(), file=path.name, catalogue=catalogue)]
    assert found == expected
