"""Every incident.io node against the simulator over real HTTP."""

from __future__ import annotations

import pytest

from tests.activities.incident_io.conftest import Env

pytestmark = pytest.mark.asyncio


async def test_get_normalizes_the_incident(env: Env) -> None:
    out = await env.run(env.nodes.get, {"incidentId": "INC-1"})
    assert out["reference"] == "INC-1"
    assert out["title"] == "Checkout latency spike"
    assert out["severity"] == "SEV-3"  # Major: third of four by rank
    assert out["severity_name"] == "Major"
    assert out["status"] == "Closed"
    assert out["status_category"] == "closed"
    assert out["team"] == "Payments"
    assert out["custom_fields"]["Root Cause"] == "Bad config"
    assert out["url"].endswith("/incidents/1")
    by_id = await env.run(env.nodes.get, {"incidentId": out["id"]})
    assert by_id == out
