"""DSL diagnostics: every problem carries its file, line and column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column inside a definition file."""

    line: int
    col: int


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a definition, rendered as ``file:line:col: message (hint)``.

    A ``warning`` does not stop the definition from compiling; it is rendered
    ``file:line:col: warning: message (hint)``.
    """

    file: str
    position: Position
    message: str
    hint: str | None = None
    severity: Severity = "error"

    def render(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        text = f"{self.file}:{self.position.line}:{self.position.col}: {label}{self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def __str__(self) -> str:
        return self.render()


class DslError(Exception):
    """Base of every error raised by the interpreter package."""


class DefinitionError(DslError):
    """A definition has one or more problems; ``diagnostics`` lists all of them."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.position))
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class ExpressionError(DslError):
    """An expression could not be parsed, checked or evaluated.

    ``offset`` is the character offset of the problem inside the expression source.
    """

    def __init__(self, message: str, *, offset: int = 0, hint: str | None = None) -> None:
        self.message = message
        self.offset = offset
        self.hint = hint
        super().__init__(message if hint is None else f"{message} ({hint})")


class EvaluationError(ExpressionError):
    """An expression failed at run time (missing field, wrong type, size limit)."""
