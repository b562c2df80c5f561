"""Ids placed in provider URLs are checked and path-encoded at the client: no traversal, no query."""

from __future__ import annotations

import httpx
import pytest

from activities.errors import InvalidRequestError
from activities.ids import MAX_ID_LENGTH, is_valid_id, path_segment
from activities.incident_io.client import IncidentIoClient

HOSTILE = [
    "../../v1/identity",
    "abc?x=1#frag",
    "../../x\u2028\u0000",
    "a/b",
    "x" * (MAX_ID_LENGTH + 1),
    "",
    "é",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_ids_are_refused(value: str) -> None:
    assert not is_valid_id(value)
    with pytest.raises(InvalidRequestError, match="is not a valid id") as info:
        path_segment(value, what="incident id")
    assert not info.value.retryable


def test_provider_ids_pass_unchanged() -> None:
    for value in ("01FDAG4SAP5TYPT98WGR2N7W91", "42", "INC-42", "a_b", "x" * MAX_ID_LENGTH):
        assert path_segment(value, what="id") == value


@pytest.mark.asyncio
@pytest.mark.parametrize("value", HOSTILE[:3])
async def test_the_incident_io_client_sends_nothing_for_a_hostile_id(value: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"incident": {}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = IncidentIoClient(http, base_url="http://io", token="inc_test")
        for call in (
            client.get_incident(value),
            client.edit_incident(value, {"name": "x"}),
            client.respond_escalation(value),
        ):
            with pytest.raises(InvalidRequestError):
                await call
    assert sent == []
