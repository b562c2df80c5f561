"""The ``{{ }}`` expression language: spans, parse, static check and evaluation.

Syntax (exactly what the specification allows): ``$trigger``, ``$steps`` and ``$workflow``
roots; single- or double-quoted strings; numbers, ``true``, ``false``, ``null`` and list
literals; ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``&&``, ``||``, ``!`` and ``in``;
member (``a.b``) and index (``a[0]``, ``a['b']``) access; calls of a fixed set of pure
helpers. There is no attribute access on host objects, no arithmetic, no loops and no way
to reach the clock or the environment: evaluation is a pure function over JSON data whose
cost is bounded by the size of the expression and of the data.

A reference into a step that was skipped (it lay in a branch that was not taken) yields
``null``, and ``null`` renders as empty text; any other missing field is an error.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from interpreter import limits
from interpreter.errors import EvaluationError, ExpressionError
from interpreter.shapes import ANY, AnyShape, ListShape, ObjectShape, ScalarShape, Shape

ROOTS = ("trigger", "steps", "workflow")
MAX_SOURCE = limits.MAX_EXPRESSION_CHARS
MAX_NODES = limits.MAX_EXPRESSION_PARTS
MAX_DEPTH = limits.MAX_EXPRESSION_DEPTH
MAX_TEXT = limits.MAX_RENDERED_TEXT

# ---------------------------------------------------------------------------- tokens

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


def _unquote(text: str, offset: int) -> str:
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


# ---------------------------------------------------------------------------- syntax tree


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
                if isinstance(operand, Literal) and _number(operand.value):
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
            return Literal(token.offset, end, _unquote(token.text, token.offset))
        if token.kind == "var":
            root = token.text[1:]
            if root not in ROOTS:
                raise ExpressionError(
                    f"unknown variable '{token.text}'",
                    offset=token.offset,
                    hint=_suggest(root, ROOTS, prefix="$") or "known: $trigger, $steps, $workflow",
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
                    hint=_suggest(token.text, FUNCTIONS)
                    or f"known: {', '.join(sorted(FUNCTIONS))}",
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


def _suggest(
    word: str, options: Sequence[str] | Mapping[str, Any], *, prefix: str = ""
) -> str | None:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{prefix}{close[0]}'?" if close else None


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


# ---------------------------------------------------------------------------- templates


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


# ---------------------------------------------------------------------------- static check


@dataclass(frozen=True)
class Scope:
    """What an expression may read, for the static check.

    ``visible_steps`` are the steps that can have run before the expression is evaluated;
    ``all_steps`` names every step of the definition (for clearer messages).
    """

    trigger: Shape = ANY
    workflow: Shape = ANY
    step_shapes: Mapping[str, Shape] = field(default_factory=dict)
    visible_steps: frozenset[str] = frozenset()
    all_steps: frozenset[str] = frozenset()


def check(node: Node, scope: Scope, source: str) -> Shape:
    """Checks every field path of ``node`` against ``scope``, returning the result shape.

    Raises:
        ExpressionError: for an unknown field, a step that cannot have run yet, or a
            member access on a value that has none.
    """
    match node:
        case Literal(value=value):
            return ScalarShape(_kind(value))
        case Var(root="trigger"):
            return scope.trigger
        case Var(root="workflow"):
            return scope.workflow
        case Var(root="steps"):
            return ObjectShape({k: scope.step_shapes.get(k, ANY) for k in scope.visible_steps})
        case Member(target=Var(root="steps"), name=name):
            return _check_step(node, name, scope)
        case Member(target=target, name=name):
            return _member_shape(check(target, scope, source), name, node, source)
        case Index(target=target, index=index):
            base = check(target, scope, source)
            check(index, scope, source)
            if isinstance(index, Literal) and isinstance(index.value, str):
                return _member_shape(base, index.value, node, source)
            if isinstance(base, ListShape):
                return base.item
            if isinstance(base, ScalarShape) and base.kind != "string":
                raise ExpressionError(
                    f"{_path(target, source)} is {base.describe()} and cannot be indexed",
                    offset=node.start,
                )
            return ANY
        case Call(name="has", args=args):
            _check_optional(args[0], scope, source)
            return ScalarShape("boolean")
        case Call(name="default", args=args):
            _check_optional(args[0], scope, source)
            return check(args[1], scope, source)
        case Call(name=name, args=args):
            for arg in args:
                check(arg, scope, source)
            return FUNCTIONS[name].result
        case Unary():
            check(node.operand, scope, source)
            return ScalarShape("boolean")
        case Binary(left=left, right=right):
            check(left, scope, source)
            check(right, scope, source)
            return ScalarShape("boolean")
        case ListLit(items=items):
            for item in items:
                check(item, scope, source)
            return ListShape(ANY)
    return ANY  # pragma: no cover  (the match covers every node type)


def _check_optional(node: Node, scope: Scope, source: str) -> None:
    """has() and default() accept paths that may be absent, but never misspelt ones."""
    try:
        check(node, scope, source)
    except ExpressionError as exc:
        if "cannot have run" in exc.message or "not every" in exc.message:
            return
        raise


def _check_step(node: Member, name: str, scope: Scope) -> Shape:
    if name in scope.visible_steps:
        return scope.step_shapes.get(name, ANY)
    if name in scope.all_steps:
        raise ExpressionError(
            f"step '{name}' cannot have run before this point",
            offset=node.start,
            hint="a step can only read steps that run before it",
        )
    raise ExpressionError(
        f"unknown step '{name}'",
        offset=node.start,
        hint=_suggest(name, sorted(scope.all_steps)),
    )


def _member_shape(base: Shape, name: str, node: Node, source: str) -> Shape:
    target = node.target if isinstance(node, Member | Index) else node
    if isinstance(base, ObjectShape):
        if name in base.fields:
            return base.fields[name]
        if base.open:
            return ANY
        known = ", ".join(sorted(base.fields)) or "none"
        raise ExpressionError(
            f"unknown field '{name}' in {_path(target, source)}",
            offset=node.end - len(name) if isinstance(node, Member) else node.start,
            hint=_suggest(name, base.fields) or f"known fields: {known}",
        )
    if isinstance(base, ScalarShape | ListShape):
        raise ExpressionError(
            f"{_path(target, source)} is {base.describe()} and has no field '{name}'",
            offset=node.start,
        )
    return ANY


def _path(node: Node, source: str) -> str:
    return source[node.start : node.end].strip()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


# ---------------------------------------------------------------------------- evaluation


class _Skipped:
    """Stands for the output of a step that did not run."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED = _Skipped()


@dataclass(frozen=True)
class Context:
    """The data an expression reads: plain JSON values only."""

    trigger: Mapping[str, Any]
    steps: Mapping[str, Any]
    workflow: Mapping[str, Any]
    skipped: frozenset[str] = frozenset()


class _Missing(EvaluationError):
    """A path does not resolve (caught by has() and default())."""


def evaluate(node: Node, ctx: Context, source: str) -> Any:
    """Evaluates a parsed expression over ``ctx`` and returns a JSON value.

    Raises:
        EvaluationError: with ``offset`` inside ``source``.
    """
    value = _eval(node, ctx, source)
    return None if value is SKIPPED else value


def _eval(node: Node, ctx: Context, source: str) -> Any:
    match node:
        case Literal(value=value):
            return value
        case Var(root=root):
            return {"trigger": ctx.trigger, "steps": ctx.steps, "workflow": ctx.workflow}[root]
        case Member(target=Var(root="steps"), name=name) if name in ctx.skipped:
            return SKIPPED
        case Member(target=target, name=name):
            return _get(_eval(target, ctx, source), name, node, source)
        case Index(target=target, index=index):
            return _get(_eval(target, ctx, source), _eval(index, ctx, source), node, source)
        case Unary(operand=operand):
            return not _bool(_eval(operand, ctx, source), operand, "!")
        case Binary(op="&&", left=left, right=right):
            if not _bool(_eval(left, ctx, source), left, "&&"):
                return False
            return _bool(_eval(right, ctx, source), right, "&&")
        case Binary(op="||", left=left, right=right):
            if _bool(_eval(left, ctx, source), left, "||"):
                return True
            return _bool(_eval(right, ctx, source), right, "||")
        case Binary(op=op, left=left, right=right):
            return _compare(op, _eval(left, ctx, source), _eval(right, ctx, source), node)
        case Call(name="has", args=args):
            try:
                return _eval(args[0], ctx, source) not in (None, SKIPPED)
            except _Missing:
                return False
        case Call(name="default", args=args):
            try:
                value = _eval(args[0], ctx, source)
            except _Missing:
                value = None
            return _eval(args[1], ctx, source) if value in (None, SKIPPED) else value
        case Call(name=name, args=args):
            values = [_plain(_eval(a, ctx, source)) for a in args]
            try:
                return FUNCTIONS[name].fn(*values)
            except (TypeError, ValueError) as exc:
                raise EvaluationError(f"{name}(): {exc}", offset=node.start) from None
        case ListLit(items=items):
            return [_plain(_eval(item, ctx, source)) for item in items]
    raise EvaluationError("unsupported expression", offset=node.start)  # pragma: no cover


def _plain(value: Any) -> Any:
    return None if value is SKIPPED else value


def _get(base: Any, key: Any, node: Node, source: str) -> Any:
    target = node.target if isinstance(node, Member | Index) else node
    if base is SKIPPED:
        return SKIPPED
    if isinstance(base, Mapping):
        if not isinstance(key, str):
            raise EvaluationError(
                f"objects are indexed by strings, not {_kind(key)}s", offset=node.start
            )
        if key not in base:
            if isinstance(target, Var) and target.root == "steps":
                raise _Missing(f"step '{key}' has not run", offset=node.start)
            known = ", ".join(sorted(base)[:12]) or "none"
            raise _Missing(
                f"no field '{key}' in {_path(target, source)}",
                offset=node.start,
                hint=_suggest(key, list(base)) or f"present: {known}",
            )
        return base[key]
    if isinstance(base, list | str) and isinstance(key, int) and not isinstance(key, bool):
        if -len(base) <= key < len(base):
            return base[key]
        raise _Missing(
            f"index {key} is out of range for {_path(target, source)}", offset=node.start
        )
    if base is None:
        raise _Missing(
            f"{_path(target, source)} is null and has no field {key!r}", offset=node.start
        )
    raise EvaluationError(
        f"{_path(target, source)} is a {_kind(base) if not isinstance(base, list) else 'list'} "
        f"and has no field {key!r}",
        offset=node.start,
    )


def _bool(value: Any, node: Node, op: str) -> bool:
    if isinstance(value, bool):
        return value
    raise EvaluationError(f"'{op}' needs true or false, got {_describe(value)}", offset=node.start)


def _describe(value: Any) -> str:
    if value is SKIPPED or value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"{_kind(value)} {json.dumps(value)[:40]}"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def values_equal(left: Any, right: Any) -> bool:
    """JSON equality: numbers compare by value (1 == 1.0), booleans are not numbers."""
    left, right = _plain(left), _plain(right)
    if _number(left) and _number(right):
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


def _compare(op: str, left: Any, right: Any, node: Node) -> bool:
    left, right = _plain(left), _plain(right)
    if op == "==":
        return values_equal(left, right)
    if op == "!=":
        return not values_equal(left, right)
    if op == "in":
        if isinstance(right, list):
            return any(values_equal(left, item) for item in right)
        if isinstance(right, str) and isinstance(left, str):
            return left in right
        if isinstance(right, Mapping) and isinstance(left, str):
            return left in right
        raise EvaluationError(
            f"'in' cannot look for {_describe(left)} in {_describe(right)}", offset=node.start
        )
    comparable = (_number(left) and _number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not comparable:
        raise EvaluationError(
            f"'{op}' cannot compare {_describe(left)} with {_describe(right)}", offset=node.start
        )
    return bool(
        {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    )


def to_text(value: Any) -> str:
    """How a value reads inside text: null is empty, objects and lists are JSON."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def render(template: Template, ctx: Context) -> Any:
    """Renders a template: one whole ``{{ }}`` keeps its type, anything else is text.

    Raises:
        EvaluationError: ``offset`` is relative to the template text.
    """
    single = template.single
    if single is not None:
        return _evaluate_segment(single, ctx)
    parts: list[str] = []
    size = 0
    for segment in template.segments:
        text = to_text(_evaluate_segment(segment, ctx)) if segment.expression else segment.text
        size += len(text)
        if size > MAX_TEXT:
            raise EvaluationError(
                f"rendered text is longer than {MAX_TEXT} characters", offset=segment.offset
            )
        parts.append(text)
    return "".join(parts)


def _evaluate_segment(segment: Segment, ctx: Context) -> Any:
    try:
        return evaluate(parse_expression(segment.text), ctx, segment.text)
    except EvaluationError as exc:
        raise EvaluationError(
            exc.message, offset=segment.offset + exc.offset, hint=exc.hint
        ) from None


# ---------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int
    result: Shape = ANY


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {_describe(value)}")
    return value


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return _text(item) in container
    if isinstance(container, list):
        return any(values_equal(item, x) for x in container)
    if isinstance(container, Mapping):
        return item in container
    raise TypeError(f"expected text, a list or an object, got {_describe(container)}")


def _len(value: Any) -> int:
    if isinstance(value, str | list | Mapping):
        return len(value)
    raise TypeError(f"expected text, a list or an object, got {_describe(value)}")


def _join(items: Any, sep: Any = ", ") -> str:
    if not isinstance(items, list):
        raise TypeError(f"expected a list, got {_describe(items)}")
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

__all__ = [
    "ANY",
    "FUNCTIONS",
    "ROOTS",
    "SKIPPED",
    "AnyShape",
    "Context",
    "Node",
    "Scope",
    "Template",
    "check",
    "evaluate",
    "has_expression",
    "parse_expression",
    "parse_template",
    "render",
    "to_text",
    "values_equal",
]
