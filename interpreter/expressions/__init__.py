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

from interpreter.expressions.check import Scope, check
from interpreter.expressions.evaluate import Context, evaluate, render
from interpreter.expressions.functions import FUNCTIONS, Function
from interpreter.expressions.syntax import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_SOURCE,
    ROOTS,
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
)
from interpreter.expressions.templates import Segment, Template, has_expression, parse_template
from interpreter.expressions.tokens import Token, tokenize
from interpreter.expressions.values import MAX_TEXT, SKIPPED, to_text, values_equal
from interpreter.shapes import ANY, AnyShape

__all__ = [
    "ANY",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_SOURCE",
    "MAX_TEXT",
    "ROOTS",
    "SKIPPED",
    "AnyShape",
    "Binary",
    "Call",
    "Context",
    "Function",
    "Index",
    "ListLit",
    "Literal",
    "Member",
    "Node",
    "Scope",
    "Segment",
    "Template",
    "Token",
    "Unary",
    "Var",
    "check",
    "evaluate",
    "has_expression",
    "parse_expression",
    "parse_template",
    "render",
    "to_text",
    "tokenize",
    "values_equal",
]
