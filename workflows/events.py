"""Incident snapshots and their diff into normalized lifecycle events (pure, deterministic).

Webhooks and sync polls are only hints: the per-incident workflow fetches the latest
incident, and this module says what changed since the last snapshot. Duplicate and
out-of-order hints therefore yield each event exactly once.
"""

from __future__ import annotations

from typing import Any

from contracts.events import EventKind, IncidentEvent, IncidentSnapshot
from contracts.triggers import RESOLVED_CATEGORIES, resolved_payload

MAX_SEEN_ENTRIES = 500


def diff(
    old: IncidentSnapshot | None,
    new: IncidentSnapshot,
    *,
    next_seq: int,
    seen_entries: set[str],
    announce_creation: bool,
) -> list[IncidentEvent]:
    """The events that lead from ``old`` to ``new``, numbered from ``next_seq``.

    Args:
        old: the previous snapshot, or None for the first one.
        new: the latest snapshot.
        next_seq: the sequence number of the first event returned.
        seen_entries: ids of updates and timeline items already announced (updated in place).
        announce_creation: False when the first snapshot is only a baseline (the incident
            existed before the workspace was connected): no ``created`` event then.
    """
    events: list[IncidentEvent] = []

    def emit(kind: EventKind, payload: dict[str, Any], field: str | None = None) -> None:
        events.append(
            IncidentEvent(seq=next_seq + len(events), kind=kind, field=field, payload=payload)
        )

    if old is None:
        for entry in new.entries:
            seen_entries.add(entry.id)
        if announce_creation:
            emit("created", dict(new.fields))
            if _resolved(new.fields):
                emit("resolved", resolved_payload(new.fields))
        return events
    for name in _changed(old.tracked, new.tracked):
        if name == "severity_name" and "severity" in _changed(old.tracked, new.tracked):
            continue
        payload = dict(new.fields) | {
            "field": name,
            "old_value": old.tracked.get(name),
            "new_value": new.tracked.get(name),
        }
        emit("updated", payload, name)
    for entry in sorted(new.entries, key=lambda e: (e.at or "", e.id)):
        if entry.id in seen_entries:
            continue
        seen_entries.add(entry.id)
        emit(
            "updated",
            dict(new.fields)
            | {"field": "timeline", "old_value": None, "new_value": entry.model_dump()},
            "timeline",
        )
    if _resolved(new.fields) and not _resolved(old.fields):
        emit("resolved", resolved_payload(new.fields))
    return events


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _resolved(fields: dict[str, Any]) -> bool:
    return fields.get("status_category") in RESOLVED_CATEGORIES


def trim_seen(seen: set[str], keep: list[str]) -> set[str]:
    """Bounds the remembered entry ids, keeping the ones still present in the snapshot."""
    if len(seen) <= MAX_SEEN_ENTRIES:
        return seen
    return set(keep[-MAX_SEEN_ENTRIES:])
