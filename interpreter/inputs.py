"""Step input trees: the one walk over their strings, and JSON pointers into them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interpreter.loader import Path


def map_strings(value: Any, fn: Callable[[Path, str], Any], path: Path = ()) -> Any:
    """A copy of an input tree with every string replaced by ``fn(its path, the string)``.

    Args:
        value: a JSON-like tree of dicts, lists and scalars (a step's ``inputs``).
        fn: called once per string, in document order; what it returns takes its place.
        path: the path of ``value`` itself; the paths given to ``fn`` extend it.

    Returns:
        The same shape of tree; values other than strings are kept as they are.
    """
    if isinstance(value, str):
        return fn(path, value)
    if isinstance(value, dict):
        return {key: map_strings(item, fn, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [map_strings(item, fn, (*path, i)) for i, item in enumerate(value)]
    return value


def strings(value: Any, path: Path = ()) -> list[tuple[Path, str]]:
    """Every string of an input tree with its path, in document order."""
    found: list[tuple[Path, str]] = []

    def note(at: Path, text: str) -> str:
        found.append((at, text))
        return text

    map_strings(value, note, path)
    return found


def pointer_of(path: Path) -> str:
    """A JSON pointer for a path inside an input tree."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
