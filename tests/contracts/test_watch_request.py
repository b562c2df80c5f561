"""What a watch request asks the incident's workflow to forward."""

from __future__ import annotations

from typing import Any

from contracts.events import IncidentEvent
from contracts.incident import WatchRequest


def _event(kind: Any, field: str | None = None, new: Any = None) -> IncidentEvent:
    return IncidentEvent(seq=1, kind=kind, field=field, payload={"new_value": new})


def test_an_unnamed_request_wants_every_event() -> None:
    unnamed = WatchRequest(workflow_id="run", step_id="s")
    assert all(
        unnamed.wants(e) for e in (_event("created"), _event("updated", "x"), _event("resolved"))
    )


def test_a_named_request_wants_its_kind_field_and_value_only() -> None:
    named = WatchRequest(workflow_id="run", step_id="s", event="updated", field="severity")
    valued = named.model_copy(update={"value": "SEV-1"})
    assert named.wants(_event("updated", "severity", "SEV-2"))
    assert not named.wants(_event("updated", "summary"))
    assert not named.wants(_event("resolved"))
    assert valued.wants(_event("updated", "severity", "SEV-1"))
    assert not valued.wants(_event("updated", "severity", "SEV-2"))
    assert WatchRequest(workflow_id="run", step_id="s", event="resolved").wants(_event("resolved"))
