"""Definitions against this build's catalogue: admitted and stored, listed, loaded from the
definitions folder at start, and the candidates an incident event considers."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from temporalio import activity

from activities.catalogue import default_catalogue
from contracts.incident import CandidatesInput, DefinitionCandidate, LookupInput, LookupResult
from interpreter.compiler import compile_text
from interpreter.definitions import AdmittedDefinition, admit
from interpreter.errors import DefinitionError
from interpreter.nodes import Catalogue
from interpreter.plan import Plan
from store import Definition, Store, check_definition_name

log = logging.getLogger(__name__)


def compile_definition(name: str, text: str) -> Plan:
    """The plan of a definition text stored as ``name`` (its YAML ``name:`` may differ).

    Raises:
        DefinitionError: the text has problems (all of them listed).
    """
    return compile_text(text, file=f"{name}.yaml", catalogue=default_catalogue())


async def admit_definition(name: str, text: str) -> AdmittedDefinition:
    """``text`` admitted as the definition ``name``, checked and compiled off the event loop.

    Raises:
        DefinitionError: the text has problems (all of them listed).
        DefinitionNameError: the YAML's ``name:`` differs from ``name``.
    """
    return await asyncio.to_thread(admit, name, text, catalogue=default_catalogue)


async def store_definition(
    store: Store, workspace: str, name: str, text: str, *, enabled: bool | None = None
) -> int:
    """Admits ``text`` as the definition ``name`` and stores it; returns its version number.

    A new version keeps the enabled flag of the one before (``enabled`` overrides it; a new
    definition is enabled unless ``enabled`` is False). Nothing is stored when it raises.

    Raises:
        InvalidNameError: ``name`` is not one the store accepts (checked before the text).
        DefinitionError: the text has problems (all of them listed).
        DefinitionNameError: the YAML's ``name:`` differs from ``name``.
    """
    check_definition_name(name)
    admitted = await admit_definition(name, text)
    return await store.put_definition(workspace, admitted, enabled=enabled)


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
            name = path.stem  # store_definition reports every problem below
        current = await store.get_definition(workspace, name)
        if current is not None and current.yaml == text:
            reports.append(FolderReport(str(path), name, current.version, "unchanged"))
            continue
        first = None if current is not None or enable_new is None else enable_new(name)
        try:
            version = await store_definition(store, workspace, name, text, enabled=first)
        except DefinitionError as exc:
            rendered = tuple(d.render() for d in exc.diagnostics)
            for line in rendered:
                log.error("%s", line)
            reports.append(FolderReport(str(path), name, None, "invalid", rendered))
            continue
        reports.append(FolderReport(str(path), name, version, "stored"))
    return reports


MAX_COMPILED = 1_000
"""Compiled versions one worker process keeps (least recently used ones are dropped)."""


class DefinitionActivities:
    """Reads the stored definitions of a workspace for the incident workflows.

    Each look-up reads the newest version of every definition from the store (one query),
    so a PUT, an enable, a disable or a delete counts from the next look-up on; compiling
    is what is cached, per worker process, by the stored text itself (a definition deleted
    and stored again restarts at version 1 with another text).
    """

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self.store = store
        self.catalogue = catalogue
        self._compiled: OrderedDict[tuple[str, str, int, str], Plan | DefinitionError] = (
            OrderedDict()
        )

    def _compile(self, stored: Definition) -> Plan | DefinitionError:
        digest = hashlib.sha256(stored.yaml.encode()).hexdigest()
        key = (stored.workspace, stored.name, stored.version, digest)
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        try:
            plan = compile_text(
                stored.yaml,
                file=f"{stored.name}.yaml",
                catalogue=self.catalogue,
                version=stored.version,
            )
            compiled: Plan | DefinitionError = plan.model_copy(update={"name": stored.name})
        except DefinitionError as exc:
            compiled = exc
        self._compiled[key] = compiled
        if len(self._compiled) > MAX_COMPILED:
            self._compiled.popitem(last=False)
        return compiled

    async def _candidates(self, workspace: str, wanted: set[str]) -> list[DefinitionCandidate]:
        found: list[DefinitionCandidate] = []
        for stored in await self.store.latest_definitions(workspace):
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
            enabled = stored.enabled and plan.enabled
            found.append(
                DefinitionCandidate(
                    name=stored.name,
                    version=stored.version,
                    enabled=enabled,
                    trigger_type=plan.trigger_type,
                    plan=plan if enabled and plan.trigger_type in wanted else None,
                )
            )
        return found

    @activity.defn(name="definitions.candidates")
    async def candidates(self, params: CandidatesInput) -> list[DefinitionCandidate]:
        """Every definition of the workspace; compiled plans only for the event's trigger type."""
        return await self._candidates(params.workspace, {params.trigger_type})

    @activity.defn(name="definitions.lookup")
    async def lookup(self, params: LookupInput) -> LookupResult:
        """The definitions one batch of events considers (run as a local activity): every
        definition, with compiled plans for the enabled ones of the batch's trigger types."""
        return LookupResult(
            candidates=await self._candidates(params.workspace, set(params.trigger_types))
        )
