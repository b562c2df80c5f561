"""``rensei explain``'s header says where the incident it shows was read from."""

from __future__ import annotations

from contracts.incident import ExplainReport
from stack.explain import render


def header(**fields: str | None) -> str:
    report = ExplainReport(workspace="default", incident_id="01X", events=[], watchers=[], **fields)
    return render(report).splitlines()[1]


def test_a_fetched_incident_says_when() -> None:
    assert header(status="Active", severity="SEV-1", last_fetch_at="2026-12-02T14:00:00") == (
        "  status Active, severity SEV-1, last fetched 2026-12-02T14:00:00"
    )


def test_an_incident_known_only_from_webhooks_does_not_claim_it_was_never_read() -> None:
    assert header(status="Active", severity="SEV-1") == (
        "  status Active, severity SEV-1, as webhooks carried it (not fetched from incident.io yet)"
    )


def test_an_incident_not_read_at_all_says_so() -> None:
    assert header() == "  status ?, severity ?, not read yet"
