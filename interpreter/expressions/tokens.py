"""Lexing: an expression's text split into tokens, each with its offset."""

from __future__ import annotations

import re
from dataclasses import dataclass

from interpreter.errors import ExpressionError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<var>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!.,()\[\]-])
    """,
    re.VERBOSE,
)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    offset: int


def tokenize(source: str) -> list[Token]:
    """Splits an expression into tokens, rejecting any character outside the grammar."""
    tokens: list[Token] = []
    index = 0
    while index < len(source):
        match = _TOKEN.match(source, index)
        if match is None:
            char = source[index]
            hint = None
            if char in "'\"":
                hint = "the string is not closed on this line"
            elif char in "+*/%":
                hint = "expressions have no arithmetic"
            elif char in "{}":
                hint = "'{{' and '}}' cannot be nested"
            elif char == "=":
                hint = "use '==' to compare"
            raise ExpressionError(f"unexpected character {char!r}", offset=index, hint=hint)
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), index))
        index = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


def unquote(text: str, offset: int) -> str:
    out: list[str] = []
    body = text[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise ExpressionError(f"unknown escape '\\{nxt}'", offset=offset + i + 1)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)
