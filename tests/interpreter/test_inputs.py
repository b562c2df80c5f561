"""The one walk over step input trees, and JSON pointers into them."""

from __future__ import annotations

from interpreter.compiler import compile_text
from interpreter.inputs import map_strings, pointer_of, strings
from interpreter.nodes import Catalogue
from interpreter.plan import ActionStep

TREE = {"a": "x", "b": [1, "y", {"c/d": "z", "e": None}], "f": True, "~g": {}}


def test_strings_lists_every_string_with_its_path_in_document_order() -> None:
    assert strings(TREE) == [(("a",), "x"), (("b", 1), "y"), (("b", 2, "c/d"), "z")]
    assert strings("top", ("inputs",)) == [(("inputs",), "top")]
    assert strings(7) == []


def test_map_strings_replaces_strings_only_and_keeps_the_shape() -> None:
    mapped = map_strings(TREE, lambda path, text: f"{pointer_of(path)}={text.upper()}")
    assert mapped == {
        "a": "/a=X",
        "b": [1, "/b/1=Y", {"c/d": "/b/2/c~1d=Z", "e": None}],
        "f": True,
        "~g": {},
    }
    assert TREE["a"] == "x"  # a copy: the plan's inputs are never changed


def test_a_pointer_escapes_tilde_and_slash() -> None:
    assert pointer_of(("~g", "c/d", 0)) == "/~0g/c~1d/0"
    assert pointer_of(()) == "/"


def test_the_pointer_the_run_builds_finds_the_location_the_compiler_wrote(
    catalogue: Catalogue,
) -> None:
    text = """name: nested
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: a
    type: debug.echo
    inputs:
      payload:
        "a/b": ["x {{ $trigger.incident_io.title }}"]
"""
    step = compile_text(text, file="n.yaml", catalogue=catalogue).steps["a"]
    assert isinstance(step, ActionStep)
    ((path, _),) = strings(step.inputs)
    assert path == ("payload", "a/b", 0) and step.locations.keys() == {"/payload/a~1b/0@4"}
    # The expression starts at offset 4 (col 22 of line 9); offset 10 is 6 characters on.
    assert str(step.location_of(pointer_of(path), 10)) == "n.yaml:9:28"
