"""Static shapes of the data expressions read: trigger payloads and node outputs.

A shape is derived from a pydantic model (or given by hand) and lets the validator say
"unknown field 'titel' in $trigger.incident_io (did you mean 'title'?)" before anything runs.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

from pydantic import BaseModel


@dataclass(frozen=True)
class Shape:
    """Base of all shapes; ``AnyShape`` accepts every access."""

    def describe(self) -> str:
        return "any value"


@dataclass(frozen=True)
class AnyShape(Shape):
    """Unknown structure: every member and index access is allowed."""


@dataclass(frozen=True)
class ScalarShape(Shape):
    """A string, number, boolean or null: no members."""

    kind: str

    def describe(self) -> str:
        return f"a {self.kind}"


@dataclass(frozen=True)
class NullShape(ScalarShape):
    """A value known to be null, and why (``$workflow.agent`` in a definition without agent)."""

    kind: str = "null"
    why: str = ""

    def describe(self) -> str:
        return f"null ({self.why})" if self.why else "null"


@dataclass(frozen=True)
class ListShape(Shape):
    """A list whose items have ``item`` shape."""

    item: Shape = field(default_factory=AnyShape)

    def describe(self) -> str:
        return "a list"


@dataclass(frozen=True)
class ObjectShape(Shape):
    """An object with known fields; ``open`` objects accept unknown fields too."""

    fields: dict[str, Shape] = field(default_factory=dict)
    open: bool = False

    def describe(self) -> str:
        return "an object"

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.fields)))


ANY = AnyShape()


def shape_of_model(model: type[BaseModel], *, open: bool = False) -> ObjectShape:
    """Derives the shape of a pydantic model from its field annotations (aliases win)."""
    fields: dict[str, Shape] = {}
    for name, info in model.model_fields.items():
        key = info.serialization_alias or info.alias or name
        fields[key] = shape_of_annotation(info.annotation)
    extra = model.model_config.get("extra")
    return ObjectShape(fields, open=open or extra == "allow")


def shape_of_annotation(annotation: Any) -> Shape:
    """Maps a type annotation onto a shape; anything unusual becomes ``AnyShape``."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return shape_of_annotation(options[0]) if len(options) == 1 else ANY
    if origin is typing.Annotated:
        return shape_of_annotation(typing.get_args(annotation)[0])
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return ListShape(shape_of_annotation(args[0]) if args else ANY)
    if origin is typing.Literal:
        return ScalarShape("string")
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return shape_of_model(annotation)
        if issubclass(annotation, bool):
            return ScalarShape("boolean")
        if issubclass(annotation, int | float):
            return ScalarShape("number")
        if issubclass(annotation, str):
            return ScalarShape("string")
    return ANY
