"""The store on SQLite and PostgreSQL: workspaces, integrations, credentials, agents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select, update

from activities.catalogue import default_catalogue
from activities.definitions import store_definition
from interpreter.compiler import compile_text
from interpreter.definitions import AdmittedDefinition
from interpreter.errors import DefinitionError
from settings import Settings
from store import CredentialDecryptError, InvalidNameError, Store, crypto
from store.keys import rotate_master_key
from store.models import CredentialRow

pytestmark = pytest.mark.asyncio

EXAMPLE = (Path(__file__).parents[2] / "examples" / "route-by-severity.yaml").read_text()
VALID = """\
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: hello
    type: debug.echo
    inputs:
      title: "{{ $trigger.incident_io.title }}"
"""


async def test_migrate_is_idempotent(store: Store) -> None:
    await store.migrate()
    workspace = await store.ensure_workspace("default")
    again = await store.ensure_workspace("default", name="ignored")
    assert workspace == again and workspace.name == "default"
    assert await store.get_workspace("nope") is None


async def test_workspace_ids_are_slugs(store: Store) -> None:
    with pytest.raises(InvalidNameError, match="workspace id"):
        await store.ensure_workspace("Not A Slug")


async def test_concurrent_ensure_workspace(store: Store) -> None:
    results = await asyncio.gather(*(store.ensure_workspace("team-a") for _ in range(5)))
    assert {r.id for r in results} == {"team-a"}


async def test_severity_overrides(store: Store) -> None:
    workspace = await store.set_severity_overrides("default", {"Critical": "SEV-1"})
    assert workspace.severity_overrides == {"Critical": "SEV-1"}
    assert (await store.get_workspace("default")).severity_overrides == {"Critical": "SEV-1"}  # type: ignore[union-attr]


async def test_credentials_round_trip_encrypted(store: Store) -> None:
    await store.put_credential("default", "incident_io", "token", "inc_supersecret0001")
    assert await store.get_credential("default", "incident_io", "token") == "inc_supersecret0001"
    await store.put_credential("default", "incident_io", "token", "inc_supersecret0002")
    assert await store.get_credential("default", "incident_io", "token") == "inc_supersecret0002"
    assert await store.get_credential("default", "incident_io", "missing") is None
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(CredentialRow.ciphertext, CredentialRow.key_id))).one()
    assert b"supersecret" not in row.ciphertext
    assert row.key_id == store.keyring.current


async def test_a_credential_copied_to_another_row_fails(store: Store) -> None:
    await store.put_credential("default", "incident_io", "token", "inc_a")
    await store.put_credential("default", "incident_io", "webhook_secret", "whsec_b")
    async with store.engine.begin() as conn:
        token = (
            await conn.execute(
                select(CredentialRow.nonce, CredentialRow.ciphertext).where(
                    CredentialRow.field == "token"
                )
            )
        ).one()
        await conn.execute(
            update(CredentialRow)
            .where(CredentialRow.field == "webhook_secret")
            .values(nonce=token.nonce, ciphertext=token.ciphertext)
        )
    with pytest.raises(
        CredentialDecryptError, match=r"incident_io\.webhook_secret of workspace default"
    ):
        await store.get_credential("default", "incident_io", "webhook_secret")


async def test_integrations(store: Store) -> None:
    await store.upsert_integration(
        "default", "incident_io", display={"name": "rensei key", "roles": ["viewer"]}
    )
    await store.upsert_integration("default", "slack", display={"team": "Acme"})
    await store.put_credential("default", "incident_io", "token", "inc_x")
    await store.record_integration_event(
        "default", "incident_io", sync_cursor="2025-01-01T00:00:00Z"
    )
    listed = await store.list_integrations("default")
    assert [i.kind for i in listed] == ["incident_io", "slack"]
    incident_io = listed[0]
    assert incident_io.display["name"] == "rensei key"
    assert incident_io.sync_cursor == "2025-01-01T00:00:00Z"
    assert incident_io.last_event_at is not None and incident_io.last_event_at.tzinfo is not None
    assert await store.credential_fields("default", "incident_io") == ["token"]
    assert await store.delete_integration("default", "incident_io")
    assert await store.get_integration("default", "incident_io") is None
    assert await store.get_credential("default", "incident_io", "token") is None
    assert not await store.delete_integration("default", "incident_io")
    with pytest.raises(InvalidNameError, match="unknown integration"):
        await store.upsert_integration("default", "pagerduty")


async def test_agent_cards(store: Store) -> None:
    await store.put_agent_card("default", "incident-responder", "http://127.0.0.1:9000")
    await store.put_agent_card("default", "incident-responder", "http://127.0.0.1:9001")
    await store.put_agent_card("default", "analyst", "http://127.0.0.1:9002")
    cards = await store.list_agent_cards("default")
    assert [(c.name, c.url) for c in cards] == [
        ("analyst", "http://127.0.0.1:9002"),
        ("incident-responder", "http://127.0.0.1:9001"),
    ]
    assert (await store.get_agent_card("default", "analyst")) is not None
    assert await store.delete_agent_card("default", "analyst")
    assert not await store.delete_agent_card("default", "analyst")
    assert await store.get_agent_card("default", "analyst") is None


async def test_definitions_are_versioned(store: Store) -> None:
    assert await store_definition(store, "default", "hello", VALID) == 1
    assert await store_definition(store, "default", "hello", VALID.replace("hello", "hi")) == 2
    assert await store_definition(store, "default", "route-by-severity", EXAMPLE) == 1
    latest = await store.latest_definitions("default")
    assert [(d.name, d.version, d.enabled) for d in latest] == [
        ("hello", 2, True),
        ("route-by-severity", 1, True),
    ]
    first = await store.get_definition("default", "hello", 1)
    assert first is not None and "id: hello" in first.yaml
    assert await store.set_definition_enabled("default", "route-by-severity", False)
    assert [d.name for d in await store.latest_definitions("default", enabled_only=True)] == [
        "hello"
    ]
    assert await store.latest_definitions("other") == []


async def test_concurrent_versions_do_not_collide(store: Store) -> None:
    versions = await asyncio.gather(
        *(store_definition(store, "default", "hello", VALID) for _ in range(4))
    )
    assert sorted(versions) == [1, 2, 3, 4]


async def test_an_invalid_definition_is_refused_with_its_diagnostics(store: Store) -> None:
    bad = VALID.replace("debug.echo", "debug.ech")
    with pytest.raises(DefinitionError) as caught:
        await store_definition(store, "default", "broken", bad)
    assert caught.value.diagnostics and caught.value.diagnostics[0].render().startswith(
        "broken.yaml:"
    )
    assert "debug.ech" in str(caught.value)
    assert await store.get_definition("default", "broken") is None


async def test_the_store_stores_what_was_admitted_and_compiles_nothing(store: Store) -> None:
    # Admission (checking and compiling) happens before the store: it keeps the admitted
    # text as given, even one that would not compile, and checks only its own keys.
    plan = compile_text(VALID, file="stale.yaml", catalogue=default_catalogue())
    stale = "name: stale\ntrigger: nope\n"
    assert await store.put_definition("default", AdmittedDefinition("stale", stale, plan)) == 1
    again = AdmittedDefinition("stale", VALID, plan)
    assert await store.put_definition("default", again, enabled=False) == 2
    first = await store.get_definition("default", "stale", 1)
    second = await store.get_definition("default", "stale", 2)
    assert first is not None and (first.yaml, first.enabled) == (stale, True)
    assert second is not None and (second.yaml, second.enabled) == (VALID, False)
    with pytest.raises(InvalidNameError, match="definition name"):
        await store.put_definition("default", AdmittedDefinition("no spaces", VALID, plan))


async def test_reencrypt_under_a_new_key(store: Store) -> None:
    await store.put_credential("default", "slack", "bot_token", "xoxb-1")
    await store.put_credential("default", "linear", "api_key", "lin_api_2")
    old = store.keyring.current
    rotated = crypto.add_new_key(store.keyring)
    assert await store.reencrypt_credentials(rotated) == 2
    async with store.engine.connect() as conn:
        key_ids = set((await conn.execute(select(CredentialRow.key_id))).scalars())
    assert key_ids == {rotated.current} and old not in key_ids
    assert await store.get_credential("default", "linear", "api_key") == "lin_api_2"


async def test_rotate_master_key_on_the_default_sqlite_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    store = Store.from_settings(settings)
    await store.migrate()
    await store.put_credential("default", "incident_io", "token", "inc_rotate_me_1234")
    await store.close()

    rotation = await rotate_master_key(settings)
    assert rotation.credentials == 1 and rotation.new_key_id != rotation.old_key_id

    reopened = Store.from_settings(settings)
    try:
        assert reopened.keyring.current == rotation.new_key_id
        assert (
            await reopened.get_credential("default", "incident_io", "token") == "inc_rotate_me_1234"
        )
    finally:
        await reopened.close()
