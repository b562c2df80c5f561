"""The settings card's incident.io mapping: severities of any workspace, and the team field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import pytest_asyncio

from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState, create_app
from simulators.incident_io import seed as s
from simulators.server import serve
from store import Store

pytestmark = pytest.mark.asyncio
MAPPING = "/api/integrations/incident-io/mapping"
TEAM_FIELD = "/api/integrations/incident-io/team-field"


@pytest_asyncio.fixture
async def connected(store: Store) -> AsyncIterator[SimulatorState]:
    """The workspace connected (sandbox mode) to a simulator with SEV0..SEV4 and two fields
    that could hold the team."""
    state = SimulatorState(
        SimulatorConfig(
            severity_names=("SEV0", "SEV1", "SEV2", "SEV3", "SEV4"),
            catalog_team_field="Affected Team",
        )
    )
    owning = s.CustomField(s.FIELD_TEAM, "Owning team", "Who owns it", "text")
    state.workspace = replace(
        state.workspace, custom_fields=(*state.workspace.custom_fields, owning)
    )
    async with serve(create_app(state)) as url:
        await store.put_credential("default", "incident_io", "token", SANDBOX_TOKEN)
        await store.upsert_integration(
            "default", "incident_io", display={"sandbox": True, "simulator_url": url}
        )
        yield state


async def test_the_mapping_lists_every_severity_once_with_its_own_name(
    admin: httpx.AsyncClient, connected: SimulatorState
) -> None:
    body = (await admin.get(MAPPING)).json()
    assert [(v["level"], v["name"]) for v in body["severities"]] == [
        ("SEV-1", "SEV0"),
        ("SEV-2", "SEV1"),
        ("SEV-3", "SEV2"),
        ("SEV-4", "SEV3"),
        ("SEV-5", "SEV4"),
    ]
    assert body["team"]["field"] is None
    assert body["team"]["problem"] == (
        "several custom fields could hold the team ('Affected Team', 'Owning team'): "
        "choose one under Settings -> Integrations (team field)"
    )
    page = await admin.get("/settings/integrations")
    assert "<td><code>SEV-5</code></td><td>SEV4</td>" in page.text
    assert "several custom fields could hold the team" in page.text


async def test_the_team_field_is_checked_stored_by_id_and_shown(
    admin: httpx.AsyncClient, connected: SimulatorState, store: Store
) -> None:
    wrong = await admin.put(TEAM_FIELD, json={"field": "Squad"})
    assert wrong.status_code == 400
    assert "the team field 'Squad' set for this workspace is not one of its" in wrong.text
    saved = await admin.put(TEAM_FIELD, json={"field": "affected team"})
    assert saved.json() == {"workspace": "default", "team_field": s.FIELD_CATALOG_TEAM}
    workspace = await store.get_workspace("default")
    assert workspace is not None and workspace.team_field == s.FIELD_CATALOG_TEAM
    team = (await admin.get(MAPPING)).json()["team"]
    assert team["field"] == {
        "id": s.FIELD_CATALOG_TEAM,
        "name": "Affected Team",
        "catalog_backed": True,
    }
    cleared = await admin.put(TEAM_FIELD, json={"field": None})
    assert cleared.json()["team_field"] is None


async def test_without_a_connection_the_mapping_says_so(admin: httpx.AsyncClient) -> None:
    body = (await admin.get(MAPPING)).json()
    assert body["problem"] == "connect incident.io to see its severities and fields"
    assert "severities" not in body
