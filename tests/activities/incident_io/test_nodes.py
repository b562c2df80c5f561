"""Every incident.io node against the simulator over real HTTP."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.incident_io.preferences import WorkspacePreferences
from simulators.incident_io import seed as s
from simulators.incident_io.payloads import CreateEscalationPayload
from tests.activities.incident_io.conftest import Env

pytestmark = pytest.mark.asyncio


async def test_get_normalizes_the_incident(env: Env) -> None:
    out = await env.run(env.nodes.get, {"incidentId": "INC-1"})
    assert out["reference"] == "INC-1"
    assert out["title"] == "Checkout latency spike"
    assert out["severity"] == "SEV-3"  # Major: third of four by rank
    assert out["severity_name"] == "Major"
    assert (out["status"], out["status_category"]) == ("Closed", "closed")
    assert out["team"] == "Payments"
    assert out["reporter"] == "Alice Ortega"
    assert out["custom_fields"]["Root Cause"] == "Bad config"
    assert out["url"].endswith("/incidents/1")
    assert await env.run(env.nodes.get, {"incidentId": out["id"]}) == out
    assert await env.run(env.nodes.get, {"incidentId": "1"}) == out


async def test_severity_overrides_are_per_workspace(env: Env) -> None:
    from tests.activities.incident_io.conftest import activities_for

    async def preferences(workspace: str) -> WorkspacePreferences:
        return WorkspacePreferences({"Major": "SEV-1"} if workspace == "default" else {})

    nodes = activities_for(env.url, env.http, preferences=preferences)
    out = await env.run(nodes.get, {"incidentId": "INC-1"})
    assert out["severity"] == "SEV-1"
    # The others keep rank order in the levels left: names stay one-to-one.
    emergency = await env.run(nodes.list, {"severity": "SEV-2", "status": "open"})
    assert emergency["count"] == 0  # Emergency (now SEV-2) has no open incident
    critical = await env.run(nodes.list, {"severity": "SEV-3"})
    assert {i["severity_name"] for i in critical["incidents"]} == {"Critical"}


async def test_list_defaults_to_open_incidents(env: Env) -> None:
    out = await env.run(env.nodes.list, {})
    refs = [i["reference"] for i in out["incidents"]]
    # INC-1 is closed; INC-2 (live), INC-3 (triage), INC-4 (private, live) are open.
    assert refs == ["INC-4", "INC-3", "INC-2"]
    assert out["count"] == 3
    query = next(r.query for r in env.state.requests if r.path == "/v2/incidents")
    assert query.count("status_category%5Bone_of%5D=") == 3
    assert all(f"%5D={c}" in query for c in ("triage", "live", "paused"))


async def test_list_filters_by_team_severity_status_and_limit(env: Env) -> None:
    team = await env.run(env.nodes.list, {"team": "payments", "status": "closed"})
    assert [i["reference"] for i in team["incidents"]] == ["INC-1"]
    critical = await env.run(env.nodes.list, {"severity": "SEV-2"})
    assert {i["reference"] for i in critical["incidents"]} == {"INC-3", "INC-4"}
    by_name = await env.run(env.nodes.list, {"severity": "critical", "status": "Triage"})
    assert [i["reference"] for i in by_name["incidents"]] == ["INC-3"]
    live = await env.run(env.nodes.list, {"status": "active", "limit": 1})
    assert live["count"] == 1
    for n in range(30):
        env.state.create_incident(f"bulk {n}")
    many = await env.run(env.nodes.list, {"limit": 30})
    assert many["count"] == 30


async def test_list_refuses_unknown_filters_and_lists_valid_ones(env: Env) -> None:
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.list, {"team": "Marketing"})
    assert info.value.type == "InvalidRequestError" and info.value.non_retryable
    assert "Platform, Payments, Data, Mobile" in info.value.message
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.list, {"status": "Sleeping"})
    assert "Triage, Investigating, Fixing" in info.value.message


async def test_acknowledge_acks_pages_posts_the_message_and_is_idempotent(env: Env) -> None:
    incident = env.state.find_incident("2")
    env.state.idempotency.clear()
    from simulators.incident_io import escalations

    key = env.state.workspace.keys[0]
    escalation = escalations.create(
        env.state,
        CreateEscalationPayload(
            idempotency_key="page-1",
            title="Search lag",
            escalation_path_id=s.PATH_PLATFORM,
            incident_id=incident.id,
        ),
        key,
    )
    inputs = {"incidentId": incident.id, "message": "On it"}
    out = await env.run(env.nodes.acknowledge, inputs)
    update = next(u for u in env.state.updates if u.incident_id == incident.id)
    assert out == {
        "incidentId": incident.id,
        "status": "Monitoring",
        "statusCategory": "live",
        "statusChanged": False,
        "statusFrom": "Monitoring",
        "statusTo": None,
        "escalationsAcknowledged": [escalation.id],
        "updateId": update.id,
        "problem": None,
    }
    assert escalation.status == "acked"
    again = await env.run(env.nodes.acknowledge, inputs)
    assert again["escalationsAcknowledged"] == []
    assert again["updateId"] == update.id  # the same run step never posts twice
    messages = [u.message for u in env.state.updates if u.incident_id == incident.id]
    assert messages == ["On it"]
    assert not [i for i in env.state.timeline if i.incident_id == incident.id]


async def test_acknowledge_in_triage_reports_the_refused_move_and_writes_it_on_the_timeline(
    env: Env,
) -> None:
    # The documented moves do not include triage -> active; the simulator refuses it.
    out = await env.run(env.nodes.acknowledge, {"incidentId": "INC-3", "message": "Looking"})
    assert out["status"] == "Triage" and out["status"] != "acknowledged"
    assert (out["statusChanged"], out["statusFrom"], out["statusTo"]) == (False, "Triage", None)
    assert out["problem"].startswith(
        "incident.io refused to move INC-3 from Triage to Investigating: "
        "incident.io rejected the request: Cannot move an incident from Triage"
    )
    incident = env.state.find_incident("3")
    assert incident.status_id == s.STATUS_TRIAGE
    assert [u.message for u in env.state.updates if u.incident_id == incident.id] == ["Looking"]
    [item] = [i for i in env.state.timeline if i.incident_id == incident.id]
    assert item.title == "Acknowledged by rensei; the status stays Triage"
    assert item.description == out["problem"]


async def test_acknowledge_reports_a_move_that_happened(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where incident.io accepts triage -> active, the output says it moved, from and to what.
    from simulators.incident_io import incidents as rules

    monkeypatch.setattr(rules, "check_transition", lambda current, target, *, field: None)
    incident = env.state.create_incident("Disk full", status_id=s.STATUS_TRIAGE)
    out = await env.run(env.nodes.acknowledge, {"incidentId": incident.id})
    assert (out["status"], out["statusChanged"], out["statusFrom"], out["statusTo"]) == (
        "Investigating",
        True,
        "Triage",
        "Investigating",
    )
    assert incident.status_id == s.STATUS_INVESTIGATING
    assert out["problem"] is None and out["updateId"] is not None
    assert not [i for i in env.state.timeline if i.incident_id == incident.id]


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (s.STATUS_PAUSED, "Paused"),
        (s.STATUS_DOCUMENTING, "Documenting"),
        (s.STATUS_CLOSED, "Closed"),
    ],
)
async def test_acknowledge_where_no_move_exists_says_so_in_output_and_timeline(
    env: Env, status: str, name: str
) -> None:
    incident = env.state.create_incident("Stuck", status_id=status)
    out = await env.run(env.nodes.acknowledge, {"incidentId": incident.id})
    assert (out["status"], out["statusChanged"], out["updateId"]) == (name, False, None)
    assert out["problem"] == (
        f"{incident.reference} is {name} ({env.state.workspace.status(status).category}): "
        "incident.io allows no move from it back to an active status, so the status stays"
    )
    [item] = [i for i in env.state.timeline if i.incident_id == incident.id]
    assert item.description == out["problem"]


async def test_the_catalogue_shape_of_acknowledge_matches_its_output() -> None:
    from activities.catalogue import default_catalogue
    from interpreter.shapes import ObjectShape, ScalarShape

    shape = default_catalogue().nodes["incident_io.incident.acknowledge"].output_shape
    assert isinstance(shape, ObjectShape)
    assert shape.fields["statusChanged"] == ScalarShape("boolean")
    assert "incidentStatus" not in shape.fields
    assert set(shape.fields) >= {"status", "statusFrom", "statusTo", "updateId", "problem"}


async def test_resolve_moves_to_post_incident_once(env: Env) -> None:
    incident = env.state.find_incident("2")
    inputs = {"incidentId": "INC-2", "message": "Fixed"}
    out = await env.run(env.nodes.resolve, inputs)
    assert out == {"incidentId": incident.id, "status": "resolved", "incidentStatus": "Documenting"}
    assert incident.status_id == s.STATUS_DOCUMENTING
    assert await env.run(env.nodes.resolve, inputs) == out
    assert [u.message for u in env.state.updates if u.incident_id == incident.id] == ["Fixed"]
    closed = await env.run(env.nodes.resolve, {"incidentId": "INC-1"})
    assert closed["incidentStatus"] == "Closed"


async def test_update_sets_severity_status_name_and_summary(env: Env) -> None:
    out = await env.run(
        env.nodes.update,
        {"incidentId": "INC-2", "severity": "SEV-1", "status": "fixing", "name": "Search down"},
    )
    assert (out["severity"], out["severity_name"]) == ("SEV-1", "Emergency")
    assert (out["status"], out["title"]) == ("Fixing", "Search down")
    out = await env.run(
        env.nodes.update, {"incidentId": "INC-2", "severity": "Minor", "summary": "x"}
    )
    assert (out["severity"], out["summary"]) == ("SEV-4", "x")


async def test_update_with_unknown_values_lists_the_valid_ones(env: Env) -> None:
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.update, {"incidentId": "INC-2", "severity": "SEV-9"})
    assert info.value.type == "InvalidRequestError" and info.value.non_retryable
    assert info.value.message == (
        "unknown severity 'SEV-9': use one of SEV-1 (Emergency), SEV-2 (Critical), "
        "SEV-3 (Major), SEV-4 (Minor)"
    )
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.update, {"incidentId": "INC-2", "status": "Done"})
    assert "unknown status 'Done': use one of Triage, Investigating" in info.value.message


async def test_update_refused_by_incident_io_carries_its_message(env: Env) -> None:
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.update, {"incidentId": "INC-2", "status": "Triage"})
    assert info.value.type == "InvalidRequestError" and info.value.non_retryable
    assert info.value.message.startswith(
        "incident.io rejected the request: Cannot move an incident"
    )
    assert "(request id " in info.value.message


async def test_escalate_by_path_name_or_user_email_is_idempotent(env: Env) -> None:
    inputs = {"incidentId": "INC-2", "escalationPath": "platform on-call"}
    out = await env.run(env.nodes.escalate, inputs)
    assert out["status"] == "triggered"
    assert await env.run(env.nodes.escalate, inputs) == out
    assert len(env.state.escalations) == 1
    esc = env.state.escalations[out["escalationId"]]
    assert esc.escalation_path_id == s.PATH_PLATFORM
    assert esc.title == "INC-2: Search index lagging behind writes"
    users = await env.run(
        env.nodes.escalate,
        {"incidentId": "INC-2", "users": ["bob@rensei.example", s.USER_DANA], "title": "Help"},
        step="page-people",
    )
    assert env.state.escalations[users["escalationId"]].user_ids == [s.USER_BOB, s.USER_DANA]


async def test_escalate_needs_a_path_or_users(env: Env) -> None:
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.escalate, {"incidentId": "INC-2"})
    assert "give exactly one of 'escalationPath' or 'users'" in info.value.message
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.escalate, {"incidentId": "INC-2", "escalationPath": "Nobody"})
    assert "use one of Platform on-call, Payments on-call" in info.value.message


async def test_timeline_event_is_added_once_per_run_step(env: Env) -> None:
    inputs = {
        "incidentId": "INC-2",
        "eventType": "agent",
        "title": "Restarted",
        "description": "ok",
    }
    out = await env.run(env.nodes.add_timeline_event, inputs)
    assert out["title"] == "[agent] Restarted"
    assert await env.run(env.nodes.add_timeline_event, inputs) == out
    assert len(env.state.timeline) == 1
    custom = await env.run(
        env.nodes.add_timeline_event,
        {"incidentId": "INC-2", "eventType": "custom", "title": "Plain"},
        step="other",
    )
    assert custom["title"] == "Plain"
    assert len(env.state.timeline) == 2


@pytest.mark.parametrize(
    ("node", "inputs"),
    [
        ("get", {}),
        ("acknowledge", {}),
        ("resolve", {}),
        ("update", {"name": "x"}),
        ("escalate", {"users": ["x"]}),
        ("add_timeline_event", {"eventType": "custom", "title": "x"}),
    ],
)
async def test_an_unknown_incident_is_not_found(
    env: Env, node: str, inputs: dict[str, str]
) -> None:
    with pytest.raises(ApplicationError) as info:
        await env.run(
            getattr(env.nodes, node), {"incidentId": "01HNOSUCHINCIDENT000000000", **inputs}
        )
    assert info.value.type == "NotFoundError" and info.value.non_retryable
    assert info.value.message.startswith(
        "Incident not found: confirm the incident ID and that it belongs to this workspace "
        "(request id "
    )


async def test_a_read_only_token_cannot_write(env: Env) -> None:
    with pytest.raises(ApplicationError) as info:
        await env.run(
            env.nodes.add_timeline_event,
            {"incidentId": "INC-2", "eventType": "custom", "title": "x"},
            workspace="viewer",
        )
    assert info.value.type == "AuthenticationError" and info.value.non_retryable
    assert info.value.message.startswith(
        "Permission denied: the API token was revoked or lacks scope; re-authorize in "
        "Settings -> Integrations (missing scope: incidents.edit) (request id "
    )
    assert "inc_" not in info.value.message


async def test_a_workspace_without_a_token_is_told_where_to_connect(env: Env) -> None:
    with pytest.raises(ApplicationError) as info:
        await env.run(env.nodes.get, {"incidentId": "INC-2"}, workspace="elsewhere")
    assert info.value.type == "AuthenticationError" and info.value.non_retryable
    assert "Settings -> Integrations" in info.value.message


async def test_catalogues_are_cached_across_activity_calls(env: Env) -> None:
    for _ in range(3):
        await env.run(
            env.nodes.update, {"incidentId": "INC-2", "severity": "SEV-2", "status": "Fixing"}
        )
        await env.run(env.nodes.get, {"incidentId": "INC-2"})
    assert env.requests("/v1/severities") == 1
    assert env.requests("/v1/incident_statuses") == 1
    assert env.requests("/v2/incidents/2") == 6
