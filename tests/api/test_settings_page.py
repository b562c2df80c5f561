"""The settings page in headless Chromium: log in, connect incident.io, see errors."""

from __future__ import annotations

import os

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from activities.definitions import store_definition
from api.app import create_app
from settings import Settings
from simulators.server import serve
from store import Store
from tests.api.conftest import ADMIN
from tests.api.fakes import GOOD_INCIDENT_IO

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VALID = """\
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: hello
    type: debug.echo
    inputs:
      title: "{{ $trigger.incident_io.title }}"
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is absent: 'apt-get install -y chromium' to run the browser tests",
    ),
]


@pytest.mark.asyncio
async def test_connect_incident_io_in_the_browser(
    settings: Settings, store: Store, http: httpx.AsyncClient
) -> None:
    settings = settings.model_copy(update={"public_url": "http://127.0.0.1:8000"})
    await store_definition(store, "default", "route-by-severity", VALID)
    app = create_app(settings, store=store, http_client=http)
    async with serve(app) as base, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/settings/integrations")
            await expect(page).to_have_url(f"{base}/login?next=/settings/integrations")
            await page.fill("#token", "not-the-token")
            await page.click("button[type=submit]")
            await expect(page.get_by_role("alert")).to_contain_text("not the admin token")
            await page.fill("#token", ADMIN)
            await page.click("button[type=submit]")
            await expect(page).to_have_url(f"{base}/settings/integrations")
            await expect(page.locator("#incident-status")).to_have_text("disconnected")
            link = page.get_by_role("link", name="Temporal UI")
            await expect(link).to_have_attribute(
                "href",
                "http://127.0.0.1:8233/namespaces/default/workflows?query=DefinitionName%3D%22route-by-severity%22",
            )

            await page.fill("#incident-token", "inc_revoked_0000000000")
            await page.click("#incident-connect")
            await expect(page.locator("#incident-error")).to_have_text(
                "incident.io rejected the API key: The API key you provided is invalid"
            )

            await page.fill("#incident-token", GOOD_INCIDENT_IO)
            await page.click("#incident-connect")
            await expect(page.locator("#incident-connected-as")).to_have_text(
                "connected as rensei automation"
            )
            await expect(page.locator("#incident-io-card")).to_contain_text("inc_...abcd")
            await expect(page.locator("#incident-io-card")).to_contain_text(
                "http://127.0.0.1:8000/api/webhooks/ingest/incident-io/default"
            )
            assert GOOD_INCIDENT_IO not in await page.content()
        finally:
            await browser.close()
