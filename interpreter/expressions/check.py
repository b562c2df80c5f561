"""The static check: every field path of an expression against the shapes in scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from interpreter.errors import ExpressionError
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
    path_text,
    suggest,
)
from interpreter.expressions.values import kind_of
from interpreter.shapes import ANY, ListShape, ObjectShape, ScalarShape, Shape


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
            return ScalarShape(kind_of(value))
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
                    f"{path_text(target, source)} is {base.describe()} and cannot be indexed",
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
        if " is null (" in exc.message:  # known to be null: that is what default() is for
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
        hint=suggest(name, sorted(scope.all_steps)),
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
            f"unknown field '{name}' in {path_text(target, source)}",
            offset=node.end - len(name) if isinstance(node, Member) else node.start,
            hint=suggest(name, base.fields) or f"known fields: {known}",
        )
    if isinstance(base, ScalarShape | ListShape):
        raise ExpressionError(
            f"{path_text(target, source)} is {base.describe()} and has no field '{name}'",
            offset=node.start,
        )
    return ANY
