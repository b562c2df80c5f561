"""Parsing: the syntax tree of one expression, built by a Pratt parser within limits."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from interpreter import limits
from interpreter.errors import ExpressionError
from interpreter.expressions.functions import FUNCTIONS
from interpreter.expressions.tokens import Token, tokenize, unquote
from interpreter.expressions.values import is_number

ROOTS = ("trigger", "steps", "workflow")


MAX_SOURCE = limits.MAX_EXPRESSION_CHARS


MAX_NODES = limits.MAX_EXPRESSION_PARTS


MAX_DEPTH = limits.MAX_EXPRESSION_DEPTH


@dataclass(frozen=True)
class Node:
    """Base of the syntax tree; ``start``/``end`` index the expression source."""

    start: int
    end: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True)
class Var(Node):
    root: str


@dataclass(frozen=True)
class Member(Node):
    target: Node
    name: str


@dataclass(frozen=True)
class Index(Node):
    target: Node
    index: Node


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


_BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "in": 3,
}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0
        self.nodes = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.peek()
        if token.text != text or token.kind == "string":
            found = "the end of the expression" if token.kind == "end" else repr(token.text)
            raise ExpressionError(f"expected '{text}' but found {found}", offset=token.offset)
        return self.take()

    def count(self, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"expression is too complex (more than {MAX_NODES} parts)")
        self.enter(depth)

    def enter(self, depth: int) -> None:
        """Refuses to descend past ``MAX_DEPTH``: checked before recursing, never after."""
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested too deeply (more than {MAX_DEPTH})",
                offset=self.peek().offset,
            )

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExpressionError("empty expression", offset=0)
        node = self.binary(0, 0)
        token = self.peek()
        if token.kind != "end":
            hint = "use '==' to compare" if token.text == "=" else None
            raise ExpressionError(f"unexpected {token.text!r}", offset=token.offset, hint=hint)
        deepest = _deepest(node)
        if deepest is not None:
            raise ExpressionError(
                f"expression is nested too deeply (more than {MAX_DEPTH})", offset=deepest.start
            )
        return node

    def _binary_op(self, token: Token) -> str | None:
        if token.kind == "op" and token.text in _BINARY_PRECEDENCE:
            return token.text
        if token.kind == "name" and token.text == "in":
            return "in"
        return None

    def binary(self, min_prec: int, depth: int) -> Node:
        self.enter(depth)
        left = self.unary(depth + 1)
        while True:
            op = self._binary_op(self.peek())
            if op is None or _BINARY_PRECEDENCE[op] <= min_prec:
                return left
            self.take()
            prec = _BINARY_PRECEDENCE[op]
            right = self.binary(prec, depth + 1)
            if prec == 3 and self._binary_op(self.peek()) in (
                "==",
                "!=",
                "<",
                "<=",
                ">",
                ">=",
                "in",
            ):
                token = self.peek()
                raise ExpressionError(
                    "comparisons cannot be chained",
                    offset=token.offset,
                    hint="join them with '&&'",
                )
            self.count(depth)
            left = Binary(left.start, right.end, op, left, right)

    def unary(self, depth: int) -> Node:
        self.enter(depth)
        token = self.peek()
        if token.kind == "op" and token.text in ("!", "-"):
            self.take()
            operand = self.unary(depth + 1)
            self.count(depth)
            if token.text == "-":
                if isinstance(operand, Literal) and is_number(operand.value):
                    return Literal(token.offset, operand.end, -operand.value)
                raise ExpressionError("'-' only negates number literals", offset=token.offset)
            return Unary(token.offset, operand.end, "!", operand)
        return self.postfix(depth)

    def postfix(self, depth: int) -> Node:
        node = self.primary(depth)
        while True:
            token = self.peek()
            if token.text == "." and token.kind == "op":
                self.take()
                name = self.take()
                if name.kind != "name":
                    raise ExpressionError("expected a field name after '.'", offset=name.offset)
                if name.text.startswith("__"):
                    raise ExpressionError(
                        f"field names starting with '__' are not allowed ({name.text!r})",
                        offset=name.offset,
                    )
                self.count(depth)
                node = Member(node.start, name.offset + len(name.text), node, name.text)
            elif token.text == "[" and token.kind == "op":
                self.take()
                index = self.binary(0, depth + 1)
                close = self.expect("]")
                self.count(depth)
                node = Index(node.start, close.offset + 1, node, index)
            elif token.text == "(" and token.kind == "op":
                raise ExpressionError("only helper functions can be called", offset=token.offset)
            else:
                return node

    def primary(self, depth: int) -> Node:
        token = self.take()
        self.count(depth)
        end = token.offset + len(token.text)
        if token.kind == "number":
            number = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            return Literal(token.offset, end, number)
        if token.kind == "string":
            return Literal(token.offset, end, unquote(token.text, token.offset))
        if token.kind == "var":
            root = token.text[1:]
            if root not in ROOTS:
                raise ExpressionError(
                    f"unknown variable '{token.text}'",
                    offset=token.offset,
                    hint=suggest(root, ROOTS, prefix="$") or "known: $trigger, $steps, $workflow",
                )
            return Var(token.offset, end, root)
        if token.kind == "name":
            return self.name(token, depth)
        if token.text == "(":
            inner = self.binary(0, depth + 1)
            self.expect(")")
            return inner
        if token.text == "[":
            items = self.arguments("]", depth)
            return ListLit(token.offset, self.tokens[self.pos - 1].offset + 1, tuple(items))
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        raise ExpressionError(f"expected a value but found {found}", offset=token.offset)

    def name(self, token: Token, depth: int) -> Node:
        end = token.offset + len(token.text)
        constants = {"true": True, "false": False, "null": None}
        if token.text in constants:
            return Literal(token.offset, end, constants[token.text])
        if self.peek().text == "(" and self.peek().kind == "op":
            if token.text not in FUNCTIONS:
                raise ExpressionError(
                    f"unknown function '{token.text}'",
                    offset=token.offset,
                    hint=suggest(token.text, FUNCTIONS) or f"known: {', '.join(sorted(FUNCTIONS))}",
                )
            self.take()
            args = self.arguments(")", depth)
            spec = FUNCTIONS[token.text]
            if not spec.min_args <= len(args) <= spec.max_args:
                expected = (
                    str(spec.min_args)
                    if spec.min_args == spec.max_args
                    else f"{spec.min_args} to {spec.max_args}"
                )
                raise ExpressionError(
                    f"{token.text}() takes {expected} argument(s), got {len(args)}",
                    offset=token.offset,
                )
            if token.text == "has" and not _is_path(args[0]):
                raise ExpressionError(
                    "has() takes a field path such as $steps.x.y", offset=token.offset
                )
            return Call(token.offset, self.tokens[self.pos - 1].offset + 1, token.text, tuple(args))
        hint = f"did you mean '${token.text}'?" if token.text in ROOTS else None
        if token.text in ("and", "or", "not"):
            hint = "use '&&', '||' and '!'"
        raise ExpressionError(
            f"unknown name '{token.text}'",
            offset=token.offset,
            hint=hint or "variables start with '$': $trigger, $steps, $workflow",
        )

    def arguments(self, close: str, depth: int) -> list[Node]:
        items: list[Node] = []
        if self.peek().text == close and self.peek().kind == "op":
            self.take()
            return items
        while True:
            items.append(self.binary(0, depth + 1))
            token = self.take()
            if token.text == close and token.kind == "op":
                return items
            if token.text != "," or token.kind != "op":
                raise ExpressionError(f"expected ',' or '{close}'", offset=token.offset)


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Member(target=target):
            return (target,)
        case Index(target=target, index=index):
            return (target, index)
        case Unary(operand=operand):
            return (operand,)
        case Binary(left=left, right=right):
            return (left, right)
        case Call(args=args):
            return args
        case ListLit(items=items):
            return items
    return ()


def _deepest(root: Node) -> Node | None:
    """The first node deeper than ``MAX_DEPTH`` (chains such as ``a.b.c`` or ``x && y && z``
    deepen the tree without deepening the parser), found without recursion; None if none."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in _children(node))
    return None


def _is_path(node: Node) -> bool:
    while isinstance(node, Member | Index):
        node = node.target
    return isinstance(node, Var)


def suggest(
    word: str, options: Sequence[str] | Mapping[str, Any], *, prefix: str = ""
) -> str | None:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{prefix}{close[0]}'?" if close else None


def path_text(node: Node, source: str) -> str:
    return source[node.start : node.end].strip()


@lru_cache(maxsize=4096)
def parse_expression(source: str) -> Node:
    """Parses one expression (the text between ``{{`` and ``}}``).

    Args:
        source: the expression text.

    Returns:
        The syntax tree. Results are cached by source text; parsing is pure.

    Raises:
        ExpressionError: with ``offset`` pointing at the problem inside ``source``.
    """
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"expression is longer than {MAX_SOURCE} characters")
    return _Parser(source).parse()
