"""The pure severity mapping and team-field choice the payloads and nodes share."""

from __future__ import annotations

import pytest

from activities.incident_io.normalize import (
    EventFormatError,
    incident_fields,
    severity_levels,
    team_field_choice,
    trigger_from_document,
)
from contracts.triggers import RESOLVED, WEBHOOK_EVENTS


def catalogue(*names: str) -> list[dict[str, object]]:
    """Severities most severe first, ranked like incident.io (higher rank, more severe)."""
    return [{"id": f"s{i}", "name": n, "rank": len(names) - i} for i, n in enumerate(names)]


@pytest.mark.parametrize(
    "names",
    [("Critical", "Major", "Minor"), ("SEV0", "SEV1", "SEV2", "SEV3", "SEV4"), tuple("ABCDEF")],
)
def test_levels_follow_rank_and_never_repeat(names: tuple[str, ...]) -> None:
    levels = severity_levels(catalogue(*names))
    assert [levels[f"s{i}"] for i in range(len(names))] == [
        f"SEV-{n}" for n in range(1, len(names) + 1)
    ]


def test_names_that_look_like_levels_do_not_collide() -> None:
    # Formerly "SEV1" was read as SEV-1 by its name while SEV0 took SEV-1 by rank.
    levels = severity_levels(catalogue("SEV0", "SEV1", "SEV2", "SEV3", "SEV4"))
    assert len(set(levels.values())) == 5
    assert (levels["s0"], levels["s1"]) == ("SEV-1", "SEV-2")


def test_overrides_pin_levels_and_the_rest_fill_the_free_ones_in_rank_order() -> None:
    levels = severity_levels(
        catalogue("Emergency", "Critical", "Major", "Minor"), {"Minor": "sev-1"}
    )
    assert levels == {"s3": "SEV-1", "s0": "SEV-2", "s1": "SEV-3", "s2": "SEV-4"}
    clash = severity_levels(catalogue("A", "B"), {"A": "SEV-1", "B": "SEV-1"})
    assert sorted(clash.values()) == ["SEV-1", "SEV-2"]  # never two with one level


def test_ties_in_rank_still_get_distinct_levels() -> None:
    tied = [{"id": "b", "name": "B", "rank": 1}, {"id": "a", "name": "A", "rank": 1}]
    assert severity_levels(tied) == {"a": "SEV-1", "b": "SEV-2"}


def test_the_team_field_is_the_chosen_one_or_the_only_team_named_one() -> None:
    fields = [{"id": "f1", "name": "Affected Team"}, {"id": "f2", "name": "Root Cause"}]
    assert team_field_choice(fields) == (fields[0], None)
    two = [*fields, {"id": "f3", "name": "Owning team"}]
    chosen, problem = team_field_choice(two)
    assert chosen is None and problem is not None and "'Affected Team', 'Owning team'" in problem
    assert team_field_choice(two, "f3") == (two[2], None)
    assert team_field_choice(two, "owning TEAM") == (two[2], None)
    assert team_field_choice([{"id": "f2", "name": "Steam engine"}])[0] is None


def test_the_payload_reads_the_team_from_a_catalog_backed_field() -> None:
    incident = {
        "id": "01X",
        "custom_field_entries": [
            {
                "custom_field": {
                    "id": "f1",
                    "name": "Affected Team",
                    "field_type": "single_select",
                },
                "values": [{"value_catalog_entry": {"id": "e1", "name": "Payments"}}],
            }
        ],
    }
    assert incident_fields(incident)["team"] == "Payments"


INCIDENT = {
    "id": "01X",
    "reference": "INC-7",
    "name": "Checkout down",
    "incident_status": {"id": "s1", "name": "Closed", "category": "closed"},
}


def event(event_type: str, payload: object) -> dict[str, object]:
    return {"event_type": event_type, event_type: payload}


def test_every_webhook_event_reads_as_its_trigger_or_says_why_not() -> None:
    for event_type, meaning in WEBHOOK_EVENTS.items():
        payload: object = {"id": "01X"} if meaning.private else INCIDENT
        if meaning.incident_key:
            payload = {meaning.incident_key: INCIDENT, "previous_status": {"name": "Active"}}
        if meaning.private:
            with pytest.raises(EventFormatError, match="private-incident event"):
                trigger_from_document(event(event_type, payload))
            continue
        trigger, found = trigger_from_document(event(event_type, payload))
        assert found["incident_io"]["reference"] == "INC-7"
        if meaning.status_change:  # closed: the status change is the resolution
            assert trigger == RESOLVED
        else:
            assert trigger == meaning.trigger


def test_a_status_change_without_its_incident_object_is_refused_by_name() -> None:
    status = "public_incident.incident_status_updated_v2"
    with pytest.raises(EventFormatError) as refused:
        trigger_from_document(event(status, {"incident": "01X"}))
    assert str(refused.value) == f"the '{status}' object has no 'incident' object"
