"""The dependency rule of docs/architecture.md, checked on every module's imports (and, for
the modules that run every node alike, on the provider names their code spells out)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    "activities",
    "api",
    "bench",
    "cli",
    "contracts",
    "interpreter",
    "settings",
    "simulators",
    "stack",
    "store",
    "telemetry",
    "temporal_client",
    "worker",
    "workflows",
}
MODULES = ("cli", "settings", "temporal_client", "worker")
"""The top-level modules beside the packages."""
# What each package may import besides the standard library and itself.
ALLOWED = {
    # pydantic_core is pydantic's own engine (core_schema for the plan's Location type).
    "interpreter": {"pydantic", "pydantic_core", "yaml"},
    # temporalio for the search attribute keys, which are temporalio.common values (see
    # test_contracts_use_only_temporalio_common: nothing of the client, worker or workflow API).
    "contracts": {"interpreter", "pydantic", "temporalio"},
    "workflows": {"contracts", "interpreter", "temporalio"},
    # temporalio for the payload codec (store/codec.py); interpreter for one type only, below.
    "store": {"alembic", "cryptography", "interpreter", "settings", "sqlalchemy", "temporalio"},
}
STORE_FROM_INTERPRETER = {("interpreter.definitions", "AdmittedDefinition")}
"""All the store takes from the interpreter: what it stores, admitted (compiled) elsewhere."""


def full_imports_of(path: Path) -> set[str]:
    """The dotted names of every module ``path`` imports, at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def imports_of(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports, at any depth of the file."""
    return {name.split(".")[0] for name in full_imports_of(path)}


def modules(package: str) -> list[Path]:
    if package in MODULES:
        return [ROOT / f"{package}.py"]
    return sorted((ROOT / package).rglob("*.py"))


def third_party(names: set[str]) -> set[str]:
    return {n for n in names if n not in sys.stdlib_module_names and n != "__future__"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_rule_allows(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules(package)
        for name in third_party(imports_of(path)) - ALLOWED[package] - {package}
    }
    assert not wrong, sorted(wrong)


def test_contracts_use_only_temporalio_common() -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules("contracts")
        for name in full_imports_of(path)
        if name.split(".")[0] == "temporalio" and name != "temporalio.common"
    }
    assert not wrong, sorted(wrong)


def test_the_store_takes_only_the_admitted_definition_from_the_interpreter() -> None:
    # Not the compiler, not the budgeted check: definitions are compiled before the store.
    taken: set[tuple[str, str]] = set()
    for path in modules("store"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                taken |= {(a.name, "*") for a in node.names if a.name.startswith("interpreter")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("interpreter"):
                taken |= {(str(node.module), a.name) for a in node.names}
    assert taken == STORE_FROM_INTERPRETER


def test_activities_import_no_workflow_module() -> None:
    wrong = {
        str(path.relative_to(ROOT))
        for path in modules("activities")
        if "workflows" in imports_of(path)
    }
    assert not wrong, sorted(wrong)


def test_only_the_stack_bench_and_tests_import_simulators() -> None:
    files = [
        path for package in OURS - {"simulators", "stack", "bench"} for path in modules(package)
    ]
    wrong = {str(path.relative_to(ROOT)) for path in files if "simulators" in imports_of(path)}
    assert not wrong, sorted(wrong)


def test_the_api_and_the_client_module_import_no_worker_and_no_workflow() -> None:
    # They reach the workflows through temporal_client, by registered names and contracts.
    files = [*modules("api"), *modules("temporal_client")]
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in imports_of(path) & {"worker", "workflows"}
    }
    assert not wrong, sorted(wrong)


def test_only_the_worker_bench_and_tests_import_workflows() -> None:
    # Everything else reaches workflows through temporal_client, by registered names, with
    # the contracts as arguments and results; bench registers workflows in its own workers.
    files = [
        path for package in OURS - {"workflows", "worker", "bench"} for path in modules(package)
    ]
    wrong = {str(path.relative_to(ROOT)) for path in files if "workflows" in imports_of(path)}
    assert not wrong, sorted(wrong)


def test_every_module_of_ours_is_checked() -> None:
    found = {p.name.removesuffix(".py") for p in ROOT.glob("*.py")}
    found |= {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert found - {"tests"} == OURS


PROVIDER_NAME = re.compile(
    r"^(incident_io|slack|linear|agent)\.[a-z_.]+$|^(threadOf|threadTs|incidentId)$"
)
GENERIC = (
    "interpreter",
    "workflows/runner.py",
    "workflows/own_writes.py",
    "workflows/calls.py",
    "workflows/host.py",
    "workflows/inline.py",
)
"""Modules that run every node alike: a provider's specifics reach them as catalogue data."""
LEGACY_RECORDS = {"interpreter/plan.py"}
"""Frozen records of what plans pinned by older runs meant (``LEGACY_THREAD_OF``,
``LEGACY_INCIDENT_WRITES``): they name the nodes those plans used, on purpose."""


def _string_constants(path: Path) -> set[str]:
    """Every string literal of ``path`` but its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


def test_generic_code_names_no_provider_node_or_input() -> None:
    files = [
        path
        for entry in GENERIC
        for path in ((ROOT / entry).rglob("*.py") if (ROOT / entry).is_dir() else [ROOT / entry])
    ]
    wrong = {
        f"{path.relative_to(ROOT)}: {value!r}"
        for path in files
        if str(path.relative_to(ROOT)) not in LEGACY_RECORDS
        for value in _string_constants(path)
        if PROVIDER_NAME.match(value)
    }
    assert not wrong, sorted(wrong)
