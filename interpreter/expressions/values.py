"""JSON values as expressions see them: skipped steps, equality, kinds and text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from interpreter import limits

MAX_TEXT = limits.MAX_RENDERED_TEXT


class _Skipped:
    """Stands for the output of a step that did not run."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED = _Skipped()


def plain(value: Any) -> Any:
    return None if value is SKIPPED else value


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def describe(value: Any) -> str:
    if value is SKIPPED or value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"{kind_of(value)} {json.dumps(value)[:40]}"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def values_equal(left: Any, right: Any) -> bool:
    """JSON equality: numbers compare by value (1 == 1.0), booleans are not numbers."""
    left, right = plain(left), plain(right)
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type(left) is not type(right) and not (
        isinstance(left, Mapping) and isinstance(right, Mapping)
    ):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(
            values_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, Mapping):
        return left.keys() == right.keys() and all(values_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def to_text(value: Any) -> str:
    """How a value reads inside text: null is empty, objects and lists are JSON."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
