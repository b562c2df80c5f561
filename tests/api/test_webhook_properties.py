"""Property-based tests of the webhook parser: any verified body is an envelope or a 400."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.ids import is_valid_id
from api.limits import BodyError, parse_json
from api.routes.webhooks import _envelope
from contracts.triggers import WEBHOOK_EVENTS

FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None)
HEADERS = {"webhook-id": "msg_1"}

ids = st.text(max_size=80) | st.from_regex(r"[0-9A-Z]{26}", fullmatch=True) | st.integers()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | ids,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    event_type = draw(st.sampled_from(sorted(WEBHOOK_EVENTS)) | st.text(max_size=40))
    incident: Any = draw(st.fixed_dictionaries({"id": ids}) | json_values)
    if draw(st.booleans()):
        incident = {"incident": incident}
    return {"event_type": event_type, event_type: incident} if draw(st.booleans()) else incident


def _check(raw: bytes) -> None:
    try:
        event_type, incident_id = _envelope(raw, HEADERS)
    except BodyError as exc:
        assert exc.status == 400 and exc.message
        return
    assert isinstance(event_type, str)
    if incident_id is not None:
        assert event_type in WEBHOOK_EVENTS and is_valid_id(incident_id)


@FAST
@given(envelopes())
def test_any_json_is_an_envelope_or_a_400(value: Any) -> None:
    _check(json.dumps(value).encode())


@FAST
@given(
    st.binary(max_size=200)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_any_bytes_are_an_envelope_or_a_400(raw: bytes) -> None:
    _check(raw)


@FAST
@given(st.integers(min_value=0, max_value=5000), st.sampled_from(["[", '{"a":']))
def test_any_depth_parses_or_is_a_400(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = (opener * depth + "1" + closer * depth).encode()
    try:
        parse_json(raw)
    except BodyError as exc:
        assert exc.status == 400
        assert depth > 64
    else:
        assert depth <= 64
