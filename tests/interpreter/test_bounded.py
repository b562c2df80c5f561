"""A definition is checked in a child process that a time or memory budget stops."""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

import pytest

from activities.catalogue import default_catalogue
from interpreter import bounded
from interpreter.bounded import Budget, check_bounded
from interpreter.compiler import check_text
from interpreter.nodes import Catalogue
from tests.interpreter.test_limits import billion_laughs

EXAMPLES = Path(__file__).parents[2] / "examples"


def sleepy_catalogue() -> Catalogue:  # runs in the child: stands for a costly check
    time.sleep(60)
    return default_catalogue()


def greedy_catalogue() -> Catalogue:  # runs in the child: stands for a check that grows
    hoard = [bytearray(64 * 1024 * 1024) for _ in range(64)]
    raise AssertionError(f"allocated {len(hoard) * 64} MiB past the budget")


def crashing_catalogue() -> Catalogue:  # runs in the child
    os._exit(3)


def test_the_child_reports_what_the_compiler_reports() -> None:
    for text in (next(EXAMPLES.glob("*.yaml")).read_text(), billion_laughs(), "a: [1,\n"):
        expected = check_text(text, file="t.yaml", catalogue=default_catalogue())
        assert check_bounded(text, file="t.yaml", catalogue=default_catalogue) == expected


def test_a_check_past_its_time_is_stopped() -> None:
    started = time.monotonic()
    found = check_bounded(
        "a: 1\n", file="t.yaml", catalogue=sleepy_catalogue, budget=Budget(0.5, 256 * 1024 * 1024)
    )
    assert [d.render() for d in found] == [
        "t.yaml:1:1: checking the definition took longer than 0.5 s; it was stopped "
        "(make the definition smaller or simpler)"
    ]
    assert time.monotonic() - started < 30  # not the 60 s the child would have slept


def test_a_check_past_its_memory_is_stopped() -> None:
    budget = Budget(30, 256 * 1024 * 1024)
    found = check_bounded("a: 1\n", file="t.yaml", catalogue=greedy_catalogue, budget=budget)
    assert [d.message for d in found] == [
        "checking the definition needed more than 256 MiB; it was stopped"
    ]


def test_a_child_that_dies_is_reported() -> None:
    found = check_bounded("a: 1\n", file="t.yaml", catalogue=crashing_catalogue)
    assert [d.message for d in found] == [
        "checking the definition stopped without an answer (memory limit 512 MiB)"
    ]


def test_a_script_main_is_preloaded_by_path(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []
    script = types.ModuleType("__main__")
    script.__file__ = "/tmp/script.py"
    script.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", script)
    monkeypatch.setattr(bounded, "_PRELOADED", set())
    monkeypatch.setattr(bounded._CONTEXT, "set_forkserver_preload", asked.append)
    bounded._preload(default_catalogue)
    bounded._preload(default_catalogue)  # nothing new: asked once
    assert asked == [
        ["__main__", "activities.catalogue", "interpreter._forkserver", "interpreter.compiler"]
    ]


def test_an_interactive_main_is_not_preloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    monkeypatch.setattr(bounded, "_PRELOADED", set())
    monkeypatch.setattr(bounded._CONTEXT, "set_forkserver_preload", asked.append)
    bounded._preload(default_catalogue)
    assert asked == [["activities.catalogue", "interpreter._forkserver", "interpreter.compiler"]]
