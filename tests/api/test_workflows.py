"""Definitions are managed like code: the YAML's name is the name, DELETE, truthful listings."""

from __future__ import annotations

import httpx
import pytest

from activities.definitions import store_definition
from store import Store

pytestmark = pytest.mark.asyncio

SRE_PAGE = """name: sre-page
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: page
    type: debug.echo
    inputs: {text: "page"}
"""
UNNAMED = SRE_PAGE.removeprefix("name: sre-page\n")
DORMANT = SRE_PAGE.replace("name: sre-page\n", "name: dormant\nenabled: false\n")


async def test_a_put_under_another_name_is_refused_and_stores_nothing(
    admin: httpx.AsyncClient, store: Store
) -> None:
    response = await admin.put("/api/workflows/other-name", content=SRE_PAGE)
    assert response.status_code == 400
    assert "names this definition 'sre-page', not 'other-name'" in response.json()["error"]
    assert await store.latest_definitions("default") == []
    assert (await admin.put("/api/workflows/sre-page", content=SRE_PAGE)).status_code == 200
    unnamed = await admin.put("/api/workflows/any-name", content=UNNAMED)
    assert unnamed.json() == {"name": "any-name", "version": 1, "status": "stored"}


async def test_listings_tell_which_definitions_run(admin: httpx.AsyncClient) -> None:
    await admin.put("/api/workflows/sre-page", content=SRE_PAGE)
    await admin.put("/api/workflows/dormant", content=DORMANT)
    await admin.put("/api/workflows/paused", content=UNNAMED)
    assert (await admin.post("/api/workflows/paused/disable")).json()["disabled_by"] == "store"
    listed = {w["name"]: w for w in (await admin.get("/api/workflows")).json()["workflows"]}
    assert {n: (w["enabled"], w["disabled_by"]) for n, w in listed.items()} == {
        "dormant": (False, "yaml"),
        "paused": (False, "store"),
        "sre-page": (True, None),
    }
    one = (await admin.get("/api/workflows/dormant")).json()
    assert one["enabled"] is False and one["yaml"] == DORMANT
    enabled = (await admin.post("/api/workflows/paused/enable")).json()
    assert enabled["enabled"] is True
    missing = await admin.post("/api/workflows/nothing/enable")
    assert missing.status_code == 404


async def test_delete_removes_every_version(admin: httpx.AsyncClient, store: Store) -> None:
    await admin.put("/api/workflows/sre-page", content=SRE_PAGE)
    await admin.put("/api/workflows/sre-page", content=SRE_PAGE + "# v2\n")
    response = await admin.delete("/api/workflows/sre-page")
    assert response.json() == {"name": "sre-page", "deleted_versions": 2, "status": "deleted"}
    assert await store.get_definition("default", "sre-page") is None
    assert (await admin.delete("/api/workflows/sre-page")).status_code == 404
    assert (await admin.get("/api/workflows/sre-page")).status_code == 404


async def test_a_new_version_keeps_the_enabled_flag(store: Store) -> None:
    await store_definition(store, "default", "sre-page", SRE_PAGE)
    await store.set_definition_enabled("default", "sre-page", False)
    await store_definition(store, "default", "sre-page", SRE_PAGE + "# v2\n")
    found = await store.get_definition("default", "sre-page")
    assert found is not None and found.version == 2 and found.enabled is False
