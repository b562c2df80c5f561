"""Integrations API: connect against a fake provider over HTTP, masking, errors, hooks."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from settings import Settings
from simulators.server import free_port, serve
from simulators.slack import SANDBOX_BOT_TOKEN, SlackState
from simulators.slack import create_app as create_slack_sim
from simulators.slack.state import SANDBOX_SCOPES
from store import Store
from tests.api.conftest import ADMIN, Hooks
from tests.api.fakes import GOOD_INCIDENT_IO, GOOD_LINEAR, GOOD_SLACK, NO_SCOPES_SLACK
from tests.apps import AppTransport

pytestmark = pytest.mark.asyncio


async def test_connect_incident_io(admin: httpx.AsyncClient, store: Store, hooks: Hooks) -> None:
    response = await admin.post("/api/integrations/incident-io", json={"token": GOOD_INCIDENT_IO})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "connected"
    assert body["connected_as"] == "rensei automation"
    assert body["roles"] == ["viewer", "incident_editor"]
    assert body["token"] == "inc_...abcd"
    assert (
        body["webhook_url"] == "https://rensei.example.com/api/webhooks/ingest/incident-io/default"
    )
    assert body["sync"]["status"] == "started"
    assert GOOD_INCIDENT_IO not in response.text
    assert hooks.connected == ["default"]
    assert await store.get_credential("default", "incident_io", "token") == GOOD_INCIDENT_IO


async def test_listing_is_masked(admin: httpx.AsyncClient) -> None:
    await admin.post("/api/integrations/incident-io", json={"token": GOOD_INCIDENT_IO})
    secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
    saved = await admin.put("/api/integrations/incident-io/webhook-secret", json={"secret": secret})
    assert saved.status_code == 200 and saved.json()["webhook_secret"] == "whsec_...cmV0"
    response = await admin.get("/api/integrations")
    assert response.status_code == 200
    incident_io = response.json()["integrations"]["incident_io"]
    assert incident_io["status"] == "connected"
    assert incident_io["token"] == "inc_...abcd"
    assert incident_io["webhook_secret"] == "whsec_...cmV0"
    assert incident_io["connected_as"] == "rensei automation"
    slack = response.json()["integrations"]["slack"]
    assert slack["status"] == "disconnected" and "chat:write" in slack["required_scopes"]
    assert GOOD_INCIDENT_IO not in response.text and secret not in response.text


async def test_a_token_of_the_wrong_format_is_refused(
    admin: httpx.AsyncClient, hooks: Hooks
) -> None:
    response = await admin.post(
        "/api/integrations/incident-io", json={"token": "sk_live_123456789"}
    )
    assert response.status_code == 400
    assert "keys start with 'inc_'" in response.json()["detail"]
    assert hooks.connected == []


async def test_a_rejected_token_shows_incident_io_s_message(
    admin: httpx.AsyncClient, store: Store
) -> None:
    response = await admin.post(
        "/api/integrations/incident-io", json={"token": "inc_revoked_0000000000"}
    )
    assert response.status_code == 400
    assert (
        response.json()["detail"]
        == "incident.io rejected the API key: The API key you provided is invalid"
    )
    assert await store.get_credential("default", "incident_io", "token") is None
    assert await store.get_integration("default", "incident_io") is None


async def test_incident_io_down_is_a_502(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/api/integrations/incident-io", json={"token": "inc_down_000000000000"}
    )
    assert response.status_code == 502
    assert response.json()["detail"].startswith(
        "incident.io could not be reached: it answered HTTP 503"
    )
    assert response.json()["detail"].endswith("try again in a minute")


async def test_incident_io_unreachable_is_a_502(
    settings: Settings, store: Store, http: httpx.AsyncClient
) -> None:
    from api.app import create_app
    from tests.api.conftest import ADMIN

    nowhere = settings.model_copy(
        update={"incident_io_base_url": f"http://127.0.0.1:{free_port()}"}
    )
    app = create_app(nowhere, store=store, http_client=http)
    transport = AppTransport(app=app)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers=headers
    ) as client:
        response = await client.post(
            "/api/integrations/incident-io", json={"token": GOOD_INCIDENT_IO}
        )
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert (
        detail.startswith("incident.io could not be reached: ")
        and "try again in a minute" in detail
    )


async def test_disconnect_calls_the_hook_and_forgets_credentials(
    admin: httpx.AsyncClient, store: Store, hooks: Hooks
) -> None:
    await admin.post("/api/integrations/incident-io", json={"token": GOOD_INCIDENT_IO})
    await admin.put(
        "/api/integrations/incident-io/webhook-secret", json={"secret": "whsec_abcdefgh"}
    )
    response = await admin.delete("/api/integrations/incident-io")
    assert response.status_code == 200 and response.json() == {"status": "disconnected"}
    assert hooks.disconnected == ["default"]
    assert await store.credential_fields("default", "incident_io") == []


async def test_webhook_secret_format(admin: httpx.AsyncClient) -> None:
    response = await admin.put(
        "/api/integrations/incident-io/webhook-secret", json={"secret": "abc"}
    )
    assert response.status_code == 400 and "whsec_" in response.json()["detail"]


async def test_slack(admin: httpx.AsyncClient, store: Store) -> None:
    bad = await admin.post(
        "/api/integrations/slack", json={"bot_token": "xoxp-1", "signing_secret": "x" * 32}
    )
    assert bad.status_code == 400 and "xoxb-" in bad.json()["detail"]
    rejected = await admin.post(
        "/api/integrations/slack", json={"bot_token": "xoxb-bad-token", "signing_secret": "a" * 32}
    )
    assert rejected.status_code == 400
    assert rejected.json()["detail"] == "Slack rejected the bot token: invalid_auth"
    ok = await admin.post(
        "/api/integrations/slack", json={"bot_token": GOOD_SLACK, "signing_secret": "a" * 32}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["connected_as"] == "rensei" and ok.json()["bot_token"] == "xoxb-...oken"
    assert await store.get_credential("default", "slack", "signing_secret") == "a" * 32
    listed = (await admin.get("/api/integrations")).json()["integrations"]["slack"]
    assert listed["status"] == "connected" and GOOD_SLACK not in str(listed)
    assert (await admin.delete("/api/integrations/slack")).status_code == 200


async def test_linear(admin: httpx.AsyncClient, store: Store) -> None:
    bad = await admin.post("/api/integrations/linear", json={"api_key": "lin_oauth_1"})
    assert bad.status_code == 400
    rejected = await admin.post("/api/integrations/linear", json={"api_key": "lin_api_wrong"})
    assert rejected.status_code == 400
    assert rejected.json()["detail"] == (
        "Linear rejected the API key: You need to authenticate to access this operation."
    )
    ok = await admin.post("/api/integrations/linear", json={"api_key": GOOD_LINEAR})
    assert ok.status_code == 200 and ok.json() == {
        "status": "connected",
        "connected_as": "Ada Lovelace",
        "api_key": "lin_...6789",
    }
    assert await store.get_credential("default", "linear", "api_key") == GOOD_LINEAR


async def test_agents(admin: httpx.AsyncClient) -> None:
    put = await admin.put("/api/agents/incident-responder", json={"url": "http://127.0.0.1:9000"})
    assert put.status_code == 200
    assert (await admin.put("/api/agents/x", json={"url": "ftp://nope"})).status_code == 400
    listed = (await admin.get("/api/agents")).json()["agents"]
    assert [(a["name"], a["url"]) for a in listed] == [
        ("incident-responder", "http://127.0.0.1:9000")
    ]
    assert (await admin.delete("/api/agents/incident-responder")).status_code == 200
    assert (await admin.delete("/api/agents/incident-responder")).status_code == 404


async def test_a_broken_master_key_is_reported_not_garbled(
    admin: httpx.AsyncClient, store: Store
) -> None:
    await admin.post("/api/integrations/incident-io", json={"token": GOOD_INCIDENT_IO})
    store.keyring.keys[store.keyring.current] = bytes(32)  # as if the key file were replaced
    listed = (await admin.get("/api/integrations")).json()["integrations"]["incident_io"]
    assert listed["status"] == "error"
    assert listed["error"] == (
        "credential incident_io.token of workspace default cannot be decrypted: "
        "wrong master key or tampered data"
    )


async def test_severity_overrides_are_checked_and_stored(
    admin: httpx.AsyncClient, store: Store
) -> None:
    url = "/api/integrations/incident-io/severity-overrides"
    bad = await admin.put(url, json={"overrides": {"Critical": "P1"}})
    assert bad.status_code == 400
    assert (
        "a level written SEV-1, SEV-2, ... (SEV-1 most severe); not 'Critical': 'P1'"
        in (bad.json()["detail"])
    )
    twice = await admin.put(url, json={"overrides": {"Critical": "SEV-1", "Major": "sev-1"}})
    assert twice.status_code == 400
    assert twice.json()["detail"] == "two severities cannot share a level: SEV-1 is given twice"
    good = await admin.put(url, json={"overrides": {"Critical": "sev-1", "Minor": "SEV-5"}})
    assert good.status_code == 200
    workspace = await store.get_workspace("default")
    assert workspace is not None and workspace.severity_overrides == {
        "Critical": "SEV-1",
        "Minor": "SEV-5",
    }


async def test_slack_token_without_the_needed_scopes_is_refused(
    settings: Settings, store: Store, http: httpx.AsyncClient, hooks: Hooks
) -> None:
    """Against the Slack simulator: auth.test's x-oauth-scopes header decides."""
    state = SlackState()
    state.add_token("xoxb-9-9-narrow", ["chat:write", "channels:read", "reactions:write"])
    async with serve(create_slack_sim(state)) as url:
        app = create_app(
            settings.model_copy(update={"slack_base_url": url}),
            store=store,
            http_client=http,
            on_connect=hooks.on_connect,
            on_disconnect=hooks.on_disconnect,
        )
        transport = AppTransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://rensei.test",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as admin:
            narrow = await admin.post(
                "/api/integrations/slack",
                json={"bot_token": "xoxb-9-9-narrow", "signing_secret": "a" * 32},
            )
            assert narrow.status_code == 400
            assert narrow.json()["detail"] == (
                "the Slack bot token lacks scope(s) rensei's Slack nodes need: "
                "channels:history, groups:history, groups:read, usergroups:read. Add them in the "
                "Slack app under OAuth & Permissions -> Bot Token Scopes, reinstall the app to "
                "the workspace, then paste the new bot token"
            )
            assert await store.get_credential("default", "slack", "bot_token") is None
            full = await admin.post(
                "/api/integrations/slack",
                json={"bot_token": SANDBOX_BOT_TOKEN, "signing_secret": "a" * 32},
            )
            assert full.status_code == 200, full.text
            listed = (await admin.get("/api/integrations")).json()["integrations"]["slack"]
    assert listed["required_scopes"] == [
        "channels:history",
        "channels:read",
        "chat:write",
        "groups:history",
        "groups:read",
        "usergroups:read",
    ]
    assert listed["details"]["scopes"] == list(SANDBOX_SCOPES)


async def test_slack_answer_without_scopes_header_is_refused(admin: httpx.AsyncClient) -> None:
    # The fake provider's "Acme" workspace is set up without the header for this token prefix.
    response = await admin.post(
        "/api/integrations/slack", json={"bot_token": NO_SCOPES_SLACK, "signing_secret": "a" * 32}
    )
    assert response.status_code == 400
    assert "no x-oauth-scopes header on auth.test" in response.json()["detail"]


async def test_settings_card_lists_the_slack_scopes(admin: httpx.AsyncClient) -> None:
    page = await admin.get("/settings/integrations")
    assert page.status_code == 200
    card = page.text.split('id="slack-scopes"', 1)[1].split("</p>", 1)[0]
    for scope in ("chat:write", "channels:history", "groups:read", "usergroups:read"):
        assert f"<code>{scope}</code>" in card
    assert "<code>chat:write.public</code>" in card


async def test_settings_page_says_which_definitions_do_not_compile(
    admin: httpx.AsyncClient, store: Store
) -> None:
    # A row that no longer compiles (stored before a catalogue change, say); store_definition
    # refuses such text today, so the row is written beneath it.
    await store.ensure_workspace("default")
    await store._insert_definition("default", "stale", "name: stale\ntrigger: nope\n", enabled=None)
    page = await admin.get("/settings/integrations")
    assert page.status_code == 200
    row = page.text.split("<td><code>stale</code></td>", 1)[1].split("</tr>", 1)[0]
    assert '<span class="invalid"' in row
    assert 'title="stale.yaml:1:1: missing required key' in row
