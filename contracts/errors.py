"""How errors are named and worded on both sides of the workflow/activity boundary.

The error types activities raise that no retry can fix, as retry policies name them (the
classes are in ``activities/errors.py``; workflows and the node catalogue name them here),
and the one wording of data that does not read as its model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

INVALID_REQUEST = "InvalidRequestError"
"""The request is wrong: among them a step whose inputs do not read as its node's model."""

REQUEST_ERRORS: tuple[str, ...] = ("AuthenticationError", INVALID_REQUEST)
"""The credentials or the request are wrong: trying again cannot help."""

NON_RETRYABLE_ERRORS: tuple[str, ...] = (*REQUEST_ERRORS, "NotFoundError")
"""Also what the provider says does not exist: the default of every provider node."""

MAX_PROBLEMS = 10
"""Problems one message lists; the rest are counted (a large payload can have thousands)."""


def problems(error: ValidationError, *, root: str = "inputs") -> str:
    """Every problem of ``error``, where and what: ``channel: Field required; mode: ...``.

    ``root`` names a problem of the whole value (one with no location). Only the locations
    and the messages are used, not the input values pydantic's errors carry (a value may be
    a secret); a model's own validator may still quote what it refuses.
    """
    items = error.errors(include_url=False, include_input=False)
    found = []
    for item in items[:MAX_PROBLEMS]:
        where = ".".join(str(part) for part in item["loc"]) or root
        found.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    if len(items) > MAX_PROBLEMS:
        found.append(f"and {len(items) - MAX_PROBLEMS} more")
    return "; ".join(found)


def invalid_inputs(error: ValidationError) -> str:
    """The message of a step whose inputs do not read as its node's input model."""
    return f"invalid inputs: {problems(error)}"


class InvalidInputsError(ValueError):
    """Inputs that do not read as their model; the message is ``invalid_inputs``'."""


def read_inputs(model: type[Model], inputs: Mapping[str, Any]) -> Model:
    """``inputs`` as ``model``, for code that has no pydantic of its own (workflows).

    Raises:
        InvalidInputsError: they do not read as ``model`` (every problem listed).
    """
    try:
        return model.model_validate(inputs)
    except ValidationError as exc:
        raise InvalidInputsError(invalid_inputs(exc)) from None
