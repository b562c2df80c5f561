"""Admitting a definition text: checked within a budget, compiled, its stored name confirmed."""

from __future__ import annotations

from dataclasses import dataclass

from interpreter.bounded import Budget, CatalogueFactory, check_bounded
from interpreter.compiler import compile_text
from interpreter.errors import DefinitionError
from interpreter.plan import Plan


class DefinitionNameError(ValueError):
    """A definition's YAML ``name:`` is not the name it is being stored under."""

    def __init__(self, declared: str, given: str) -> None:
        self.declared, self.given = declared, given
        super().__init__(
            f"the YAML names this definition '{declared}', not '{given}': the name in the "
            f"YAML is the name (store it as '{declared}', or change its name:)"
        )


@dataclass(frozen=True)
class AdmittedDefinition:
    """A definition text that compiled against a catalogue under the name it is stored as."""

    name: str
    text: str
    plan: Plan


def admit(
    name: str, text: str, *, catalogue: CatalogueFactory, budget: Budget | None = None
) -> AdmittedDefinition:
    """Checks and compiles ``text`` as the definition ``name``; blocking (run it in a thread).

    The text is checked first in a budgeted child process (``check_bounded``), so only a
    text known to be valid, and so within every limit, is compiled in this process.

    Args:
        name: the name the definition is stored as; diagnostics name the file ``{name}.yaml``.
        text: the YAML source.
        catalogue: a module-level function returning the catalogue (it runs in the child too).
        budget: the check's time and memory; ``Budget.default()`` when omitted.

    Raises:
        DefinitionError: the text has problems (all of them listed).
        DefinitionNameError: the YAML's ``name:`` differs from ``name``.
    """
    file = f"{name}.yaml"
    diagnostics = check_bounded(text, file=file, catalogue=catalogue, budget=budget)
    if diagnostics:
        raise DefinitionError(diagnostics)
    plan = compile_text(text, file=file, catalogue=catalogue())
    if plan.name != name:
        raise DefinitionNameError(plan.name, name)
    return AdmittedDefinition(name, text, plan)
