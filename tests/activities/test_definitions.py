"""definitions.candidates / definitions.lookup: what incident events consider, compiled once
per stored text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.catalogue import default_catalogue
from activities.definitions import DefinitionActivities, load_folder, store_definition
from contracts.incident import CandidatesInput, LookupInput, LookupResult
from interpreter.definitions import DefinitionNameError
from settings import Settings
from store import InvalidNameError, Store

pytestmark = pytest.mark.asyncio

CREATED = "trigger:\n  type: trigger.incident_io.incident.created\nsteps:\n  - id: a\n    type: debug.echo\n"
UPDATED = CREATED.replace("created", "updated")
ON_CREATED = "trigger.incident_io.incident.created"


async def test_candidates_carry_plans_for_the_event_type_only(tmp_path: Path) -> None:
    store = Store.from_settings(Settings(data_dir=tmp_path))
    await store.migrate()
    try:
        await store_definition(store, "default", "on-created", CREATED)
        await store_definition(store, "default", "on-updated", UPDATED, enabled=False)
        acts = DefinitionActivities(store, default_catalogue())
        params = CandidatesInput(
            workspace="default", trigger_type="trigger.incident_io.incident.created"
        )
        first = await ActivityEnvironment().run(acts.candidates, params)
        by_name = {c.name: c for c in first}
        assert by_name["on-created"].plan is not None and by_name["on-created"].enabled
        assert by_name["on-updated"].plan is None and not by_name["on-updated"].enabled
        again = await ActivityEnvironment().run(acts.candidates, params)
        assert again[0].plan is first[0].plan  # the stored version was compiled once
        await store_definition(store, "default", "on-created", CREATED.replace("id: a", "id: b"))
        newer = {c.name: c for c in await ActivityEnvironment().run(acts.candidates, params)}
        assert newer["on-created"].version == 2 and newer["on-created"].plan is not None
        assert list(newer["on-created"].plan.steps) == ["b"]
    finally:
        await store.close()


async def _lookup(acts: DefinitionActivities) -> dict[str, Any]:
    params = LookupInput(workspace="default", trigger_types=[ON_CREATED])
    result: LookupResult = await ActivityEnvironment().run(acts.lookup, params)
    return {c.name: c for c in result.candidates}


async def test_the_lookup_cache_follows_every_change_of_the_stored_definitions(
    tmp_path: Path,
) -> None:
    store = Store.from_settings(Settings(data_dir=tmp_path))
    await store.migrate()
    try:
        await store_definition(store, "default", "route", CREATED)
        acts = DefinitionActivities(store, default_catalogue())
        first = await _lookup(acts)
        assert first["route"].plan is not None and list(first["route"].plan.steps) == ["a"]
        # disabled: listed (explain says so), no plan to run; enabled again: the same plan
        await store.set_definition_enabled("default", "route", False)
        disabled = await _lookup(acts)
        assert not disabled["route"].enabled and disabled["route"].plan is None
        await store.set_definition_enabled("default", "route", True)
        assert (await _lookup(acts))["route"].plan is first["route"].plan
        # a new version: its own plan
        await store_definition(store, "default", "route", CREATED.replace("id: a", "id: b"))
        newer = (await _lookup(acts))["route"]
        assert newer.version == 2 and newer.plan is not None and list(newer.plan.steps) == ["b"]
        # deleted: gone at once
        await store.delete_definition("default", "route")
        assert await _lookup(acts) == {}
        # stored again under the same name: version 1 once more, but another text, which
        # must be what runs, never the deleted version 1 compiled earlier
        await store_definition(store, "default", "route", CREATED.replace("id: a", "id: c"))
        again = (await _lookup(acts))["route"]
        assert again.version == 1 and again.plan is not None
        assert list(again.plan.steps) == ["c"]
        # plans only for the batch's trigger types; the others listed without one
        await store_definition(store, "default", "on-updated", UPDATED)
        listed = await _lookup(acts)
        assert listed["on-updated"].enabled and listed["on-updated"].plan is None
    finally:
        await store.close()


async def test_the_folder_stores_changed_files_and_reports_invalid_ones(tmp_path: Path) -> None:
    store = Store.from_settings(Settings(data_dir=tmp_path / "data"))
    await store.migrate()
    folder = tmp_path / "workflows.d"
    folder.mkdir()
    (folder / "good.yaml").write_text(CREATED)
    (folder / "bad.yaml").write_text("trigger: {type: nope}\nsteps: []\n")
    try:
        reports = {r.name: r for r in await load_folder(store, folder)}
        assert (reports["good"].status, reports["good"].version) == ("stored", 1)
        assert reports["bad"].status == "invalid" and reports["bad"].diagnostics
        again = {r.name: r.status for r in await load_folder(store, folder)}
        assert again == {"good": "unchanged", "bad": "invalid"}
    finally:
        await store.close()


async def test_storing_checks_the_name_first_then_admits_then_stores(tmp_path: Path) -> None:
    store = Store.from_settings(Settings(data_dir=tmp_path))
    await store.migrate()
    try:
        # A name the store would refuse is refused before its text is checked or compiled.
        with pytest.raises(InvalidNameError, match="definition name 'no spaces'"):
            await store_definition(store, "default", "no spaces", "trigger: nope\n")
        with pytest.raises(DefinitionNameError, match="names this definition 'other'"):
            await store_definition(store, "default", "route", f"name: other\n{CREATED}")
        assert await store.latest_definitions("default") == []
        assert await store_definition(store, "default", "route", f"name: route\n{CREATED}") == 1
    finally:
        await store.close()
