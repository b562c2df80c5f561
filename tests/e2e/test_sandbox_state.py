"""The sandbox simulators' state survives a restart of ``make run`` (kept in the data dir)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from settings import Settings
from simulators.incident_io import SimulatorConfig, SimulatorState
from simulators.linear import LinearState
from simulators.slack import SlackState
from simulators.slack.state import Message
from stack.sandbox_mode import declare_incident, resolve_incident, serve_sandbox
from stack.sandbox_seed import seed_sandbox_workspace
from stack.sandbox_state import restore, save, snapshot, state_file
from tests.e2e.test_sandbox_mode import _answers, four_free_ports
from tests.waiting import eventually


def test_every_kept_record_round_trips(tmp_path: Path) -> None:
    incident_io = SimulatorState(SimulatorConfig(seed_incidents=True))
    slack, linear = SlackState(), LinearState()
    seed_sandbox_workspace(incident_io, slack)
    incident = incident_io.create_incident("Checkout is down")
    incident_io.idempotency[("incident", "key-1")] = incident.id
    oncall = slack.find_channel("#oncall")
    assert oncall is not None
    slack.messages.append(Message(channel=oncall.id, ts="1700000000.000100", text="page"))
    team = linear.team_by_key("ENG")
    assert team is not None
    linear.create_issue(team, {"title": "INC-5 follow-up"}, issue_id=None)
    path = state_file(tmp_path)
    save(path, snapshot(incident_io, slack, linear))

    again = SimulatorState(SimulatorConfig(seed_incidents=False)), SlackState(), LinearState()
    assert restore(path, *again)
    assert snapshot(*again) == snapshot(incident_io, slack, linear)
    assert again[0].find_incident(incident.reference.removeprefix("INC-")).id == incident.id
    assert again[1].channel_messages("#oncall")[0].text == "page"
    assert again[2].issues[0].identifier == "ENG-1"


def test_an_unreadable_file_leaves_the_simulators_empty(tmp_path: Path) -> None:
    path = state_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "slack": {}}')
    state = SimulatorState(SimulatorConfig(seed_incidents=False))
    assert not restore(path, state, SlackState(), LinearState())
    assert state.incidents == {}
    assert not restore(tmp_path / "missing.json", state, SlackState(), LinearState())


@pytest.mark.asyncio
async def test_an_incident_declared_before_a_restart_is_found_after_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sandbox_port=four_free_ports())
    url = f"http://127.0.0.1:{settings.sandbox_port + 3}"

    async def one_life() -> tuple[asyncio.Event, asyncio.Task[None]]:
        stop = asyncio.Event()
        task = asyncio.create_task(serve_sandbox(settings, webhook_url=None, stop=stop))
        await eventually(lambda: _answers(url), seconds=10)
        return stop, task

    stop, task = await one_life()
    created = (await declare_incident(settings, title="Checkout is down", severity="SEV-1"))[
        "incident"
    ]
    stop.set()
    await task

    stop, task = await one_life()
    try:
        resolved = await resolve_incident(settings, created["reference"])
    finally:
        stop.set()
        await task
    assert resolved["incident"]["id"] == created["id"]


def test_the_sandbox_workspace_has_the_seed_documents_channels_and_more() -> None:
    from simulators.incident_io.seed import FIELD_TEAM

    incident_io, slack = SimulatorState(SimulatorConfig(seed_incidents=False)), SlackState()
    seed_sandbox_workspace(incident_io, slack, channels=["#sre-war-room"], teams=["Storage"])
    seed_sandbox_workspace(incident_io, slack, channels=["#sre-war-room"], teams=["Storage"])
    names = sorted(c.name for c in slack.channels.values())
    assert {"oncall", "eng-team", "incidents", "exec", "sre-war-room"} <= set(names)
    assert len(names) == len(set(names))
    team = next(f for f in incident_io.workspace.custom_fields if f.id == FIELD_TEAM)
    values = [o.value for o in team.options]
    assert values.count("eng-on-call") == 1 and values.count("Storage") == 1
