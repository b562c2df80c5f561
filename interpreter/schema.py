"""Pydantic models of the surface syntax of a definition file (unknown keys are errors)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*(ms|s|m|h|d))+\s*$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

DEFAULT_MAX_RUNS_PER_HOUR = 10
STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_duration(value: Any) -> float:
    """Reads ``30s``, ``5m``, ``1h30m``, ``2d``, ``500ms`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.match(value):
        seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(value))
    else:
        raise ValueError(f"{value!r} is not a duration (use 30s, 5m, 1h or 2d)")
    if seconds <= 0:
        raise ValueError("a duration must be greater than zero")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryModel(_Strict):
    """Per-step override of the node's retry policy."""

    maximumAttempts: int | None = Field(default=None, ge=1, le=1000)
    initialInterval: float | None = None
    backoffCoefficient: float | None = Field(default=None, ge=1.0, le=100.0)
    maximumInterval: float | None = None

    @field_validator("initialInterval", "maximumInterval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)


class CaseModel(_Strict):
    """One entry of ``cases``: ``{value, steps}`` or ``{default: [...]}``."""

    value: Any = None
    steps: list[str] | None = None
    default: list[str] | None = None


class StepModel(_Strict):
    """Every key a step may carry; which apply depends on the step's type."""

    id: str
    type: str
    name: str | None = None
    description: str | None = None
    inputs: dict[str, Any] | None = None
    condition: Any = None
    onTrue: list[str] | None = None
    onFalse: list[str] | None = None
    cases: list[CaseModel] | None = None
    onApproved: list[str] | None = None
    onRejected: list[str] | None = None
    onTimeout: list[str] | None = None
    retry: RetryModel | None = None
    timeout: float | None = None
    continueOnError: bool = False

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)


BRANCH_KEYS = ("onTrue", "onFalse", "onApproved", "onRejected", "onTimeout")
CONDITION_KEYS = frozenset({"condition", "onTrue", "onFalse", "cases"})
ACTION_KEYS = frozenset({"inputs", "retry", "timeout", "continueOnError"})
COMMON_KEYS = frozenset({"id", "type", "name", "description"})


class AgentModel(_Strict):
    """The agent card a workflow acts for."""

    name: str = Field(min_length=1)
    description: str | None = None


class TriggerModel(_Strict):
    """``trigger.type``, an optional ``filter`` over ``$trigger``, and the loop-safety knobs.

    ``includeOwnChanges`` lets events caused by rensei's own writes start the definition;
    ``maxRunsPerHour`` bounds the runs one incident may start (the loop breaker).
    """

    type: str
    filter: str | None = None
    includeOwnChanges: bool = False
    maxRunsPerHour: int = Field(default=DEFAULT_MAX_RUNS_PER_HOUR, ge=1, le=1000)


class DefinitionModel(_Strict):
    """The top level of a definition file; steps are validated one by one."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    enabled: bool = True
    agent: AgentModel | str | None = None
    trigger: TriggerModel
    steps: list[Any] = Field(min_length=1)
