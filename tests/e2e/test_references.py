"""Incidents are named by reference (``INC-42``) or id: search attributes, explain, sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

import cli
from contracts import search
from contracts.ids import incident_workflow_id
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as simulator_app
from simulators.incident_io.seed import SEVERITY_EMERGENCY
from simulators.server import serve
from stack import references
from stack.sandbox_mode import sandbox_incident_id
from store import Store
from tests.e2e.test_incident_flow import decision_of, stack
from tests.e2e.test_sandbox_mode import four_free_ports
from tests.waiting import eventually


def test_references_are_read_in_every_spelling() -> None:
    assert references.as_reference("INC-42") == "INC-42"
    assert references.as_reference("inc-042") == "INC-42"
    assert references.as_reference(" 42 ") == "INC-42"
    assert references.as_reference("01HZX2INCIDENT") is None
    assert references.as_reference("INC-") is None


@pytest.mark.asyncio
async def test_runs_carry_the_reference_and_explain_accepts_it(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with stack(dev_env, tmp_path, webhooks=True) as s:
        async with httpx.AsyncClient(base_url=s.sim_url) as http:
            created = await http.post(
                "/_sim/incidents", json={"name": "Checkout 500s", "severity_id": SEVERITY_EMERGENCY}
            )
        incident = created.json()["incident"]
        # the route runs inline: the incident's own workflow is what carries the reference
        assert (await decision_of(s, incident["id"], "route")).inline
        follower = s.temporal.get_workflow_handle(incident_workflow_id("default", incident["id"]))

        async def tagged() -> str | None:
            attrs = (await follower.describe()).typed_search_attributes
            return attrs.get(search.INCIDENT_REFERENCE)

        assert await eventually(tagged) == incident["reference"]

        async def visible() -> str | None:
            return await references.from_visibility(s.temporal, "default", incident["reference"])

        assert await eventually(visible) == incident["id"]
        number = incident["reference"].removeprefix("INC-")
        found = await references.resolve(s.settings, number, workspace="default", client=s.temporal)
        assert found == incident["id"]

        monkeypatch.setenv(
            "RENSEI_TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host
        )
        monkeypatch.setenv("RENSEI_DATA_DIR", str(s.settings.data_dir))
        code = await asyncio.to_thread(cli.run, ["explain", incident["reference"], "--json"])
        assert code == 0


class _LocalOnly(httpx.AsyncBaseTransport):
    """Refuses (and remembers) any request to a host other than 127.0.0.1."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.hosts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        if request.url.host != "127.0.0.1":
            raise httpx.ConnectError(f"test: no public host ({request.url.host})", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.asyncio
async def test_a_sandbox_reference_is_asked_of_the_simulator_never_incident_io(
    tmp_path: Path,
) -> None:
    base = four_free_ports()
    settings = Settings(data_dir=tmp_path, sandbox_port=base)  # incident.io's URL is the public one
    store = Store.from_settings(settings)
    await store.migrate()
    await store.put_credential("default", "incident_io", "token", SANDBOX_TOKEN)
    await store.close()
    state = SimulatorState(SimulatorConfig(seed_incidents=False))
    incident = state.create_incident("Checkout is down")
    transport = _LocalOnly()
    async with (
        serve(simulator_app(state), port=base),
        httpx.AsyncClient(transport=transport) as http,
    ):
        found = await references.resolve(
            settings, incident.reference, workspace="default", client=None, http=http
        )
        by_sandbox = await sandbox_incident_id(settings, incident.reference.lower())
    assert found == incident.id and by_sandbox == incident.id
    assert transport.hosts == ["127.0.0.1"]


@pytest.mark.asyncio
async def test_an_unknown_reference_says_so(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, incident_io_token=None)
    with pytest.raises(references.IncidentReferenceError, match="INC-7 is a reference"):
        await references.resolve(settings, "INC-7", workspace="other", client=None)
