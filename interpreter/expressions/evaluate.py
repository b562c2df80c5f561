"""Evaluation: a pure function from a syntax tree and JSON data to a JSON value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interpreter.errors import EvaluationError
from interpreter.expressions.functions import FUNCTIONS
from interpreter.expressions.syntax import (
    Binary,
    Call,
    Index,
    ListLit,
    Literal,
    Member,
    Node,
    Unary,
    Var,
    parse_expression,
    path_text,
    suggest,
)
from interpreter.expressions.templates import Segment, Template
from interpreter.expressions.values import (
    MAX_TEXT,
    SKIPPED,
    describe,
    is_number,
    kind_of,
    plain,
    to_text,
    values_equal,
)


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
            values = [plain(_eval(a, ctx, source)) for a in args]
            try:
                return FUNCTIONS[name].fn(*values)
            except (TypeError, ValueError) as exc:
                raise EvaluationError(f"{name}(): {exc}", offset=node.start) from None
        case ListLit(items=items):
            return [plain(_eval(item, ctx, source)) for item in items]
    raise EvaluationError("unsupported expression", offset=node.start)  # pragma: no cover


def _get(base: Any, key: Any, node: Node, source: str) -> Any:
    target = node.target if isinstance(node, Member | Index) else node
    if base is SKIPPED:
        return SKIPPED
    if isinstance(base, Mapping):
        if not isinstance(key, str):
            raise EvaluationError(
                f"objects are indexed by strings, not {kind_of(key)}s", offset=node.start
            )
        if key not in base:
            if isinstance(target, Var) and target.root == "steps":
                raise _Missing(f"step '{key}' has not run", offset=node.start)
            known = ", ".join(sorted(base)[:12]) or "none"
            raise _Missing(
                f"no field '{key}' in {path_text(target, source)}",
                offset=node.start,
                hint=suggest(key, list(base)) or f"present: {known}",
            )
        return base[key]
    if isinstance(base, list | str) and isinstance(key, int) and not isinstance(key, bool):
        if -len(base) <= key < len(base):
            return base[key]
        raise _Missing(
            f"index {key} is out of range for {path_text(target, source)}", offset=node.start
        )
    if base is None:
        raise _Missing(
            f"{path_text(target, source)} is null and has no field {key!r}", offset=node.start
        )
    kind = "list" if isinstance(base, list) else kind_of(base)
    raise EvaluationError(
        f"{path_text(target, source)} is a {kind} and has no field {key!r}",
        offset=node.start,
    )


def _bool(value: Any, node: Node, op: str) -> bool:
    if isinstance(value, bool):
        return value
    raise EvaluationError(f"'{op}' needs true or false, got {describe(value)}", offset=node.start)


def _compare(op: str, left: Any, right: Any, node: Node) -> bool:
    left, right = plain(left), plain(right)
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
            f"'in' cannot look for {describe(left)} in {describe(right)}", offset=node.start
        )
    comparable = (is_number(left) and is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not comparable:
        raise EvaluationError(
            f"'{op}' cannot compare {describe(left)} with {describe(right)}", offset=node.start
        )
    return bool(
        {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    )


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
