"""Spans: a string split into literal text and ``{{ }}`` expressions, with offsets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from interpreter.errors import ExpressionError
from interpreter.expressions.syntax import parse_expression


@dataclass(frozen=True)
class Segment:
    """Literal text (``expression`` False) or an expression, with its offset in the text."""

    text: str
    offset: int
    expression: bool


@dataclass(frozen=True)
class Template:
    """A string split into literal text and ``{{ }}`` expressions."""

    source: str
    segments: tuple[Segment, ...]

    @property
    def is_literal(self) -> bool:
        return not any(s.expression for s in self.segments)

    @property
    def single(self) -> Segment | None:
        """The expression when the whole string is exactly one ``{{ }}`` (it keeps its type)."""
        parts = [s for s in self.segments if s.expression or s.text.strip()]
        if len(parts) == 1 and parts[0].expression:
            return parts[0]
        return None

    @property
    def expressions(self) -> list[Segment]:
        return [s for s in self.segments if s.expression]


@lru_cache(maxsize=4096)
def parse_template(text: str) -> Template:
    """Splits text into literal parts and ``{{ }}`` expressions and parses each expression.

    Raises:
        ExpressionError: ``offset`` is relative to ``text``.
    """
    segments: list[Segment] = []
    index = 0
    while True:
        start = text.find("{{", index)
        if start < 0:
            if index < len(text):
                segments.append(Segment(text[index:], index, False))
            break
        if start > index:
            segments.append(Segment(text[index:start], index, False))
        end = _find_close(text, start + 2)
        if end < 0:
            raise ExpressionError("'{{' is not closed by '}}'", offset=start)
        source = text[start + 2 : end]
        try:
            parse_expression(source)
        except ExpressionError as exc:
            raise ExpressionError(
                exc.message, offset=start + 2 + exc.offset, hint=exc.hint
            ) from None
        segments.append(Segment(source, start + 2, True))
        index = end + 2
    return Template(text, tuple(segments))


def _find_close(text: str, index: int) -> int:
    quote: str | None = None
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif text.startswith("}}", index):
            return index
        index += 1
    return -1


def has_expression(text: str) -> bool:
    """True when ``text`` holds at least one ``{{``."""
    return "{{" in text
