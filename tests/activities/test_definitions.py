"""definitions.candidates: what an incident event considers, compiled once per stored version."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.catalogue import default_catalogue
from activities.definitions import DefinitionActivities, load_folder
from contracts.incident import CandidatesInput
from settings import Settings
from store import Store

pytestmark = pytest.mark.asyncio

CREATED = "trigger:\n  type: trigger.incident_io.incident.created\nsteps:\n  - id: a\n    type: debug.echo\n"
UPDATED = CREATED.replace("created", "updated")


async def test_candidates_carry_plans_for_the_event_type_only(tmp_path: Path) -> None:
    store = Store.from_settings(Settings(data_dir=tmp_path))
    await store.migrate()
    try:
        await store.put_definition("default", "on-created", CREATED)
        await store.put_definition("default", "on-updated", UPDATED, enabled=False)
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
        await store.put_definition("default", "on-created", CREATED.replace("id: a", "id: b"))
        newer = {c.name: c for c in await ActivityEnvironment().run(acts.candidates, params)}
        assert newer["on-created"].version == 2 and newer["on-created"].plan is not None
        assert list(newer["on-created"].plan.steps) == ["b"]
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
