"""The http.request node's admin routes: the host allowlist and secrets by name."""

from __future__ import annotations

import httpx
import pytest

from store import Store

pytestmark = pytest.mark.asyncio


async def test_the_allowlist_is_denied_by_default_and_replaced_whole(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    assert (await admin.get("/api/http/allowlist")).json()["hosts"] == []
    put = await admin.put(
        "/api/http/allowlist", json={"hosts": ["Status.Example.com", "*.runbooks.internal"]}
    )
    assert put.json()["hosts"] == ["*.runbooks.internal", "status.example.com"]
    bad = await admin.put("/api/http/allowlist", json={"hosts": ["https://x.com/path"]})
    assert bad.status_code == 400 and "no scheme, port or path" in bad.json()["detail"]
    assert (await admin.get("/api/http/allowlist")).json()["hosts"] == [
        "*.runbooks.internal",
        "status.example.com",
    ]
    assert (await anonymous.get("/api/http/allowlist")).status_code == 401


async def test_secrets_are_stored_encrypted_and_never_listed_by_value(
    admin: httpx.AsyncClient, store: Store
) -> None:
    put = await admin.put("/api/http/secrets/runbook", json={"value": "tok-123"})
    assert put.json() == {"name": "runbook", "status": "stored"}
    assert await store.get_credential("default", "http", "runbook") == "tok-123"
    listed = await admin.get("/api/http/secrets")
    assert listed.json() == {"secrets": ["runbook"]} and "tok-123" not in listed.text
    assert (await admin.put("/api/http/secrets/a b", json={"value": "x"})).status_code == 400
    assert (await admin.delete("/api/http/secrets/runbook")).status_code == 200
    assert (await admin.delete("/api/http/secrets/runbook")).status_code == 404
