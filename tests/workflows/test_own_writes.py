"""A write step's claim, read from the catalogue's description of what the node writes."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.incident import OwnWrite
from interpreter.plan import LEGACY_INCIDENT_WRITES, FieldWrite, IncidentWrite
from workflows.own_writes import claim

UPDATE = LEGACY_INCIDENT_WRITES["incident_io.incident.update"]


def done(write: IncidentWrite | None, inputs: dict[str, Any], output: Any) -> OwnWrite:
    return claim(write, workflow_id="run-1", step_id="s", inputs=inputs, output=output)


@pytest.mark.parametrize(
    ("node", "inputs", "output", "entry_ids", "fields", "updates"),
    [
        # What the workflow claimed for each incident.io write before it was catalogue data.
        ("incident_io.timeline.add_event", {"title": "t"}, {"id": "01T"}, ["01T"], {}, 0),
        ("incident_io.timeline.add_event", {}, {"id": 7}, [], {}, 0),
        (
            "incident_io.incident.update",
            {"severity": "SEV-1", "name": "Checkout"},
            {"severity": "SEV-1", "title": "Checkout", "status": "Active"},
            [],
            {"severity": "SEV-1", "name": "Checkout"},
            1,
        ),
        (
            "incident_io.incident.update",
            {"summary": "s"},
            {"summary": "s"},
            [],
            {"summary": "s"},
            0,
        ),
        ("incident_io.incident.update", {"summary": "s"}, None, [], {"summary": None}, 0),
        (
            "incident_io.incident.acknowledge",
            {},
            {"incidentStatus": "Active"},
            [],
            {"status": "Active"},
            1,
        ),
        ("incident_io.incident.resolve", {}, {"incidentStatus": None}, [], {}, 1),
    ],
)
def test_each_incident_io_write_claims_what_it_did(
    node: str,
    inputs: dict[str, Any],
    output: Any,
    entry_ids: list[str],
    fields: dict[str, Any],
    updates: int,
) -> None:
    found = done(LEGACY_INCIDENT_WRITES[node], inputs, output)
    assert (found.phase, found.entry_ids, found.fields, found.updates) == (
        "done",
        entry_ids,
        fields,
        updates,
    )


def test_another_services_write_is_claimed_from_its_own_description() -> None:
    write = IncidentWrite(
        target="ticket",
        entry_output="commentId",
        fields=(FieldWrite(tracked="status", output="state", input="state"),),
        updates=("state",),
    )
    found = done(
        write, {"ticket": "01X", "state": "closed"}, {"commentId": "c1", "state": "closed"}
    )
    assert (found.entry_ids, found.fields, found.updates) == (["c1"], {"status": "closed"}, 1)
    quiet = done(write, {"ticket": "01X"}, {"commentId": "c2"})
    assert (quiet.entry_ids, quiet.fields, quiet.updates) == (["c2"], {}, 0)


def test_a_step_that_writes_nothing_claims_nothing() -> None:
    found = done(None, {"incidentId": "01X"}, {"id": "01T"})
    assert (found.entry_ids, found.fields, found.updates) == ([], {}, 0)
