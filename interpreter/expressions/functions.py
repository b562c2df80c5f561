"""The helper functions expressions may call: arity, result shape and implementation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from interpreter.expressions.values import MAX_TEXT, describe, to_text, values_equal
from interpreter.shapes import ANY, ScalarShape, Shape


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int
    result: Shape = ANY


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {describe(value)}")
    return value


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return _text(item) in container
    if isinstance(container, list):
        return any(values_equal(item, x) for x in container)
    if isinstance(container, Mapping):
        return item in container
    raise TypeError(f"expected text, a list or an object, got {describe(container)}")


def _len(value: Any) -> int:
    if isinstance(value, str | list | Mapping):
        return len(value)
    raise TypeError(f"expected text, a list or an object, got {describe(value)}")


def _join(items: Any, sep: Any = ", ") -> str:
    if not isinstance(items, list):
        raise TypeError(f"expected a list, got {describe(items)}")
    text = _text(sep).join(to_text(x) for x in items)
    if len(text) > MAX_TEXT:
        raise ValueError(f"result is longer than {MAX_TEXT} characters")
    return text


def _no_runtime(*_: Any) -> Any:  # pragma: no cover  (has() and default() are lazy)
    raise TypeError("evaluated lazily")


_STRING = ScalarShape("string")


_BOOL = ScalarShape("boolean")


FUNCTIONS: dict[str, Function] = {
    "lower": Function(lambda s: _text(s).lower(), 1, 1, _STRING),
    "upper": Function(lambda s: _text(s).upper(), 1, 1, _STRING),
    "trim": Function(lambda s: _text(s).strip(), 1, 1, _STRING),
    "contains": Function(_contains, 2, 2, _BOOL),
    "startsWith": Function(lambda s, p: _text(s).startswith(_text(p)), 2, 2, _BOOL),
    "endsWith": Function(lambda s, p: _text(s).endswith(_text(p)), 2, 2, _BOOL),
    "len": Function(_len, 1, 1, ScalarShape("number")),
    "join": Function(_join, 1, 2, _STRING),
    "string": Function(to_text, 1, 1, _STRING),
    "has": Function(_no_runtime, 1, 1, _BOOL),
    "default": Function(_no_runtime, 2, 2, ANY),
}
