"""When Temporal cannot be reached, every route that needs it answers 503 with Retry-After."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app
from settings import Settings
from simulators.server import free_port
from store import Store
from tests.api.conftest import ADMIN
from tests.apps import AppTransport

pytestmark = pytest.mark.asyncio


async def test_routes_needing_temporal_answer_503(settings: Settings, store: Store) -> None:
    closed = settings.model_copy(update={"temporal_port": free_port()})
    app = create_app(closed, store=store)
    transport = AppTransport(app=app)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://rensei.test") as client:
        for method, path in [
            ("GET", "/api/approvals/incident-default-01H"),
            ("DELETE", "/api/integrations/incident-io"),
        ]:
            response = await client.request(method, path, headers=admin)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["retry-after"] == "5"
            assert response.json() == {"error": "Temporal is unavailable; please retry"}
