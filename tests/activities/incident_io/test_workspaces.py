"""Workspaces unlike the default seed: 3, 5 and 6 severities, and catalog-backed teams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from activities.incident_io.preferences import WorkspacePreferences
from simulators.incident_io import SimulatorConfig, SimulatorState, create_app
from simulators.incident_io import seed as s
from simulators.server import serve
from tests.activities.incident_io.conftest import Env, activities_for

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def workspace(
    config: SimulatorConfig, *, team_field: str | None = None
) -> AsyncIterator[Env]:
    async def preferences(workspace: str) -> WorkspacePreferences:
        return WorkspacePreferences(team_field=team_field)

    state = SimulatorState(config)
    async with serve(create_app(state)) as url, httpx.AsyncClient(timeout=5.0) as http:
        yield Env(state, url, http, activities_for(url, http, preferences=preferences))


CATALOGUES = {
    3: ("Critical", "Major", "Minor"),
    5: ("SEV0", "SEV1", "SEV2", "SEV3", "SEV4"),
    6: ("P0", "P1", "P2", "P3", "P4", "P5"),
}


@pytest.mark.parametrize("count", sorted(CATALOGUES))
async def test_every_severity_gets_its_own_level_and_each_level_sets_that_one(
    count: int,
) -> None:
    names = CATALOGUES[count]
    async with workspace(SimulatorConfig(severity_names=names, seed_incidents=False)) as env:
        incident = env.state.create_incident("Checkout down")
        seen: dict[str, str] = {}
        for n, name in enumerate(names, start=1):
            out = await env.run(
                env.nodes.update, {"incidentId": incident.id, "severity": f"SEV-{n}"}
            )
            assert (out["severity"], out["severity_name"]) == (f"SEV-{n}", name)
            seen[out["severity"]] = out["severity_name"]
            # The workspace's own name sets the same severity and reads back the same level.
            again = await env.run(env.nodes.update, {"incidentId": incident.id, "severity": name})
            assert (again["severity"], again["severity_name"]) == (f"SEV-{n}", name)
        assert len(set(seen.values())) == count  # never two severities with one level


async def test_sev1_means_the_most_severe_even_when_the_workspace_has_a_sev1() -> None:
    names = CATALOGUES[5]
    async with workspace(SimulatorConfig(severity_names=names, seed_incidents=False)) as env:
        incident = env.state.create_incident("Checkout down")
        top = await env.run(env.nodes.update, {"incidentId": incident.id, "severity": "SEV-1"})
        assert top["severity_name"] == "SEV0"  # rensei's level: the most severe
        own = await env.run(env.nodes.update, {"incidentId": incident.id, "severity": "sev1"})
        assert (own["severity"], own["severity_name"]) == ("SEV-2", "SEV1")  # its own name
        listed = await env.run(env.nodes.list, {"severity": "SEV-2"})
        assert [i["id"] for i in listed["incidents"]] == [incident.id]


async def test_list_by_team_uses_the_catalog_backed_team_field() -> None:
    config = SimulatorConfig(catalog_team_field="Affected Team")
    async with workspace(config) as env:
        out = await env.run(env.nodes.list, {"team": "payments", "status": "closed"})
        assert [i["reference"] for i in out["incidents"]] == ["INC-1"]
        assert out["incidents"][0]["team"] == "Payments"
        alias = await env.run(env.nodes.list, {"team": "data@rensei.example"})
        assert [i["reference"] for i in alias["incidents"]] == ["INC-2"]
        assert env.requests("/v3/catalog_entries") == 1  # cached per workspace
        query = next(r.query for r in env.state.requests if r.path == "/v2/incidents")
        assert f"custom_field%5B{s.FIELD_CATALOG_TEAM}%5D%5Bone_of%5D={s.ENTRY_TEAM_PAYMENTS}" in (
            query
        )


def _with_second_team_field(state: SimulatorState) -> None:
    from dataclasses import replace

    owning = s.CustomField(s.FIELD_TEAM, "Owning team", "Who owns it", "text")
    state.workspace = replace(
        state.workspace, custom_fields=(*state.workspace.custom_fields, owning)
    )


async def test_an_ambiguous_team_field_is_refused_until_one_is_chosen() -> None:
    config = SimulatorConfig(catalog_team_field="Affected Team")
    async with workspace(config) as env:
        _with_second_team_field(env.state)
        from temporalio.exceptions import ApplicationError

        with pytest.raises(ApplicationError) as info:
            await env.run(env.nodes.list, {"team": "Payments"})
        assert info.value.message == (
            "cannot filter by team: several custom fields could hold the team "
            "('Affected Team', 'Owning team'): choose one under Settings -> Integrations "
            "(team field)"
        )
        got = await env.run(env.nodes.get, {"incidentId": "INC-1"})
        assert got["team"] is None  # not guessed
    async with workspace(config, team_field=s.FIELD_CATALOG_TEAM) as env:
        _with_second_team_field(env.state)
        out = await env.run(env.nodes.list, {"team": "Payments", "status": "closed"})
        assert [(i["reference"], i["team"]) for i in out["incidents"]] == [("INC-1", "Payments")]
