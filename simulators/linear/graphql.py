"""A small GraphQL parser: operations, variables, arguments, aliases and nested selections."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,]+|\#[^\n]*)
    |(?P<spread>\.\.\.)
    |(?P<punct>[{}()\[\]:!$=@])
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class GraphQLSyntaxError(Exception):
    """A document the parser cannot read; carries the 1-based line and column."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"Syntax Error: {message}")
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass
class Field:
    """One selected field; ``arguments`` may hold ``Variable`` placeholders."""

    name: str
    alias: str | None
    arguments: dict[str, Any]
    selections: list[Field] | None
    line: int
    column: int

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Operation:
    kind: str  # "query" or "mutation"
    name: str | None
    selections: list[Field]
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Token:
    kind: str
    text: str
    line: int
    column: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise GraphQLSyntaxError(
                f"Unexpected character {source[pos]!r}", line, pos - line_start + 1
            )
        kind = match.lastgroup or "skip"
        if kind != "skip":
            tokens.append(_Token(kind, match.group(), line, pos - line_start + 1))
        for offset, char in enumerate(match.group()):
            if char == "\n":
                line, line_start = line + 1, pos + offset + 1
        pos = match.end()
    return tokens


def _unquote(text: str) -> str:
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", _unescape, text[1:-1])


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if code.startswith("u") else _ESCAPES.get(code, code)


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def fail(self, message: str) -> GraphQLSyntaxError:
        token = self.peek() or (self.tokens[-1] if self.tokens else _Token("eof", "", 1, 1))
        return GraphQLSyntaxError(message, token.line, token.column)

    def take(self, text: str | None = None, kind: str | None = None) -> _Token:
        token = self.peek()
        if (
            token is None
            or (text is not None and token.text != text)
            or (kind and token.kind != kind)
        ):
            found = "<EOF>" if token is None else repr(token.text)
            raise self.fail(f"Expected {text or kind}, found {found}.")
        self.pos += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.text == text and token.kind != "string":
            self.pos += 1
            return True
        return False

    def document(self) -> list[Operation]:
        operations = []
        while self.peek() is not None:
            operations.append(self.operation())
        if not operations:
            raise self.fail("Unexpected <EOF>.")
        return operations

    def operation(self) -> Operation:
        token = self.peek()
        if token is not None and token.text == "{":
            return Operation("query", None, self.selection_set())
        kind = self.take(kind="name").text
        if kind not in {"query", "mutation"}:
            raise self.fail(
                f"Unsupported definition {kind!r}: only query and mutation are simulated."
            )
        name = self.take(kind="name").text if (t := self.peek()) and t.kind == "name" else None
        defaults = self.variable_definitions() if self.accept("(") else {}
        return Operation(kind, name, self.selection_set(), defaults)

    def variable_definitions(self) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        while not self.accept(")"):
            self.take("$")
            name = self.take(kind="name").text
            self.take(":")
            self.type_ref()
            if self.accept("="):
                defaults[name] = self.value()
        return defaults

    def type_ref(self) -> None:
        if self.accept("["):
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        self.accept("!")

    def selection_set(self) -> list[Field]:
        self.take("{")
        selections = []
        while not self.accept("}"):
            if (token := self.peek()) is not None and token.kind == "spread":
                raise self.fail("Fragments are not supported by the simulator.")
            selections.append(self.field())
        return selections

    def field(self) -> Field:
        first = self.take(kind="name")
        alias, name = (
            (first.text, self.take(kind="name").text) if self.accept(":") else (None, first.text)
        )
        arguments: dict[str, Any] = {}
        if self.accept("("):
            while not self.accept(")"):
                key = self.take(kind="name").text
                self.take(":")
                arguments[key] = self.value()
        token = self.peek()
        nested = self.selection_set() if token is not None and token.text == "{" else None
        return Field(name, alias, arguments, nested, first.line, first.column)

    def value(self) -> Any:
        token = self.take()
        if token.text == "$":
            return Variable(self.take(kind="name").text)
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
        if token.text == "[":
            items = []
            while not self.accept("]"):
                items.append(self.value())
            return items
        if token.text == "{":
            fields: dict[str, Any] = {}
            while not self.accept("}"):
                key = self.take(kind="name").text
                self.take(":")
                fields[key] = self.value()
            return fields
        if token.kind == "name":
            return {"true": True, "false": False, "null": None}.get(token.text, token.text)
        raise GraphQLSyntaxError(f"Unexpected {token.text!r}.", token.line, token.column)


def parse(source: str, operation_name: str | None = None) -> Operation:
    """Parses ``source`` and picks the operation named ``operation_name`` (or the only one)."""
    operations = _Parser(source).document()
    if operation_name is not None:
        for operation in operations:
            if operation.name == operation_name:
                return operation
        raise GraphQLSyntaxError(f'Unknown operation named "{operation_name}".', 1, 1)
    if len(operations) > 1:
        raise GraphQLSyntaxError(
            "Must provide operation name if query contains multiple operations.", 1, 1
        )
    return operations[0]


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    """Replaces ``Variable`` placeholders inside an argument value."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value
