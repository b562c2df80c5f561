"""What a stored definition is, as listings report it: its version, and whether it can run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from interpreter.errors import DefinitionError
from store.store import Definition, compile_definition

DisabledBy = Literal["store", "yaml", "invalid"]


@dataclass(frozen=True)
class DefinitionListing:
    """One definition's newest version; ``enabled`` is True only when it would start runs."""

    name: str
    version: int
    enabled: bool
    disabled_by: DisabledBy | None
    valid: bool
    trigger_type: str | None
    problem: str | None
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "enabled": self.enabled,
            "disabled_by": self.disabled_by,
            "status": "valid" if self.valid else "invalid",
            "trigger": self.trigger_type,
            "problem": self.problem,
            "created_at": self.created_at,
        }


def describe(stored: Definition) -> DefinitionListing:
    """The truth about ``stored``: disabled in the store, by its YAML, or not compilable."""
    try:
        plan = compile_definition(stored.name, stored.yaml)
    except DefinitionError as exc:
        problem = exc.diagnostics[0].render() if exc.diagnostics else "invalid"
        return DefinitionListing(
            stored.name,
            stored.version,
            False,
            "invalid",
            False,
            None,
            problem,
            stored.created_at.isoformat(),
        )
    disabled_by: DisabledBy | None = None
    if not stored.enabled:
        disabled_by = "store"
    elif not plan.enabled:
        disabled_by = "yaml"
    return DefinitionListing(
        stored.name,
        stored.version,
        disabled_by is None,
        disabled_by,
        True,
        plan.trigger_type,
        None,
        stored.created_at.isoformat(),
    )
