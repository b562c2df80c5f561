"""Definitions: the folder loaded at start, and the candidates an incident event considers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from temporalio import activity

from contracts.incident import CandidatesInput, DefinitionCandidate
from interpreter.compiler import compile_text
from interpreter.errors import DefinitionError
from interpreter.nodes import Catalogue
from interpreter.plan import Plan
from store import Definition, Store
from store.store import compile_definition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderReport:
    """What loading one file of the definitions folder did."""

    file: str
    name: str
    version: int | None
    status: str  # "stored", "unchanged" or "invalid"
    diagnostics: tuple[str, ...] = ()


def read_folder(folder: Path) -> list[tuple[Path, str]]:
    """The definition files of ``folder`` (none when it does not exist), sorted by name."""
    if not folder.is_dir():
        return []
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [(path, path.read_text(encoding="utf-8")) for path in paths]


async def load_folder(
    store: Store,
    folder: Path,
    *,
    workspace: str = "default",
    enable_new: Callable[[str], bool] | None = None,
) -> list[FolderReport]:
    """Validates every ``*.yaml`` of ``folder`` and stores the changed ones as new versions.

    A file's definition is named by its ``name:`` (the file's stem when it has none). An
    invalid file is reported with every diagnostic and stores nothing, so the previous
    version (if any) keeps running. A new version keeps its definition's enabled flag; a
    definition seen for the first time is enabled unless ``enable_new`` says otherwise.
    """
    reports: list[FolderReport] = []
    files = read_folder(folder)
    if files:
        await store.ensure_workspace(workspace)
    for path, text in files:
        try:
            name = compile_definition(path.stem, text).name
        except DefinitionError:
            name = path.stem  # put_definition reports every problem below
        current = await store.get_definition(workspace, name)
        if current is not None and current.yaml == text:
            reports.append(FolderReport(str(path), name, current.version, "unchanged"))
            continue
        first = None if current is not None or enable_new is None else enable_new(name)
        try:
            version = await store.put_definition(workspace, name, text, enabled=first)
        except DefinitionError as exc:
            rendered = tuple(d.render() for d in exc.diagnostics)
            for line in rendered:
                log.error("%s", line)
            reports.append(FolderReport(str(path), name, None, "invalid", rendered))
            continue
        reports.append(FolderReport(str(path), name, version, "stored"))
    return reports


class DefinitionActivities:
    """Reads the stored definitions of a workspace for the incident workflows."""

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self.store = store
        self.catalogue = catalogue
        # Stored versions never change, so each is compiled once per worker process.
        self._compiled: dict[tuple[str, str, int], Plan | DefinitionError] = {}

    def _compile(self, stored: Definition) -> Plan | DefinitionError:
        key = (stored.workspace, stored.name, stored.version)
        if key not in self._compiled:
            try:
                plan = compile_text(
                    stored.yaml,
                    file=f"{stored.name}.yaml",
                    catalogue=self.catalogue,
                    version=stored.version,
                )
                self._compiled[key] = plan.model_copy(update={"name": stored.name})
            except DefinitionError as exc:
                self._compiled[key] = exc
        return self._compiled[key]

    @activity.defn(name="definitions.candidates")
    async def candidates(self, params: CandidatesInput) -> list[DefinitionCandidate]:
        """Every definition of the workspace; compiled plans only for the event's trigger type."""
        found: list[DefinitionCandidate] = []
        for stored in await self.store.latest_definitions(params.workspace):
            plan = self._compile(stored)
            if isinstance(plan, DefinitionError):
                found.append(
                    DefinitionCandidate(
                        name=stored.name,
                        version=stored.version,
                        enabled=stored.enabled,
                        trigger_type="unknown",
                        problem=plan.diagnostics[0].render() if plan.diagnostics else "invalid",
                    )
                )
                continue
            matches = plan.trigger_type == params.trigger_type
            found.append(
                DefinitionCandidate(
                    name=stored.name,
                    version=stored.version,
                    enabled=stored.enabled and plan.enabled,
                    trigger_type=plan.trigger_type,
                    plan=plan if matches else None,
                )
            )
        return found
