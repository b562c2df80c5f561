"""Admin authentication: bearer token or login cookie; webhooks and /healthz stay public."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from api.auth import SESSION_COOKIE, AdminAuth
from settings import Settings
from store.admin_token import admin_token_path, ensure_admin_token
from tests.api.conftest import ADMIN

ADMIN_ROUTES = [
    ("GET", "/api/integrations"),
    ("POST", "/api/integrations/incident-io"),
    ("PUT", "/api/integrations/incident-io/webhook-secret"),
    ("DELETE", "/api/integrations/incident-io"),
    ("POST", "/api/integrations/slack"),
    ("POST", "/api/integrations/linear"),
    ("GET", "/api/agents"),
    ("PUT", "/api/agents/a"),
    ("POST", "/codec/decode"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
async def test_admin_routes_need_the_token(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await anonymous.request(method, path, json={})
    assert response.status_code == 401
    assert "admin authentication required" in response.json()["detail"]
    wrong = await anonymous.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.asyncio
async def test_the_page_redirects_to_login(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/settings/integrations")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings/integrations"


@pytest.mark.asyncio
async def test_login_sets_an_http_only_session_cookie(anonymous: httpx.AsyncClient) -> None:
    bad = await anonymous.post("/login", data={"token": "wrong", "next": "/settings/integrations"})
    assert bad.status_code == 401 and "not the admin token" in bad.text
    ok = await anonymous.post("/login", data={"token": ADMIN, "next": "https://evil.example/"})
    assert ok.status_code == 303 and ok.headers["location"] == "/settings/integrations"
    cookie = ok.headers["set-cookie"]
    assert (
        cookie.startswith(f"{SESSION_COOKIE}=")
        and "HttpOnly" in cookie
        and "SameSite=lax" in cookie
    )
    assert "Secure" in cookie  # public_url is https in these tests
    page = await anonymous.get("/settings/integrations")
    assert page.status_code == 200 and "Incident.io" in page.text
    assert (await anonymous.get("/api/integrations")).status_code == 200
    out = await anonymous.post("/logout")
    assert out.status_code == 303
    assert (await anonymous.get("/api/integrations")).status_code == 401


@pytest.mark.asyncio
async def test_public_routes(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/login")).status_code == 200
    # Webhook routes are authenticated by their signature only, never by the admin token.
    response = await anonymous.post("/api/webhooks/ingest/incident-io/default", json={})
    assert response.status_code == 401
    # Without a configured secret the answer is a bad signature's (the log says why).
    assert response.json() == {
        "error": "signature verification failed: missing header(s): webhook-id, "
        "webhook-timestamp, webhook-signature"
    }


def test_sessions_expire_and_are_tied_to_the_token() -> None:
    auth = AdminAuth("token-a")
    cookie = auth.issue_session(now=1000.0)
    assert auth.session_valid(cookie, now=1001.0)
    assert not auth.session_valid(cookie, now=1000.0 + 13 * 3600)
    assert not AdminAuth("token-b").session_valid(cookie, now=1001.0)
    expires, _, signature = cookie.partition(".")
    assert not auth.session_valid(f"{int(expires) + 3600}.{signature}", now=1001.0)
    assert not auth.session_valid("garbage", now=1001.0)


def test_admin_token_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    token = ensure_admin_token(settings)
    assert len(token) > 30
    path = admin_token_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_admin_token(settings) == token
