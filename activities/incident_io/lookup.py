"""Resolves the names users write (SEV-2, "Fixing", "Payments") into incident.io ids."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from activities.errors import InvalidRequestError
from activities.incident_io.models import (
    CustomFieldOption,
    EscalationPath,
    IncidentStatus,
    Severity,
)
from workflows.normalize import severity_level

_LEVEL = re.compile(r"^\s*sev\s*-?\s*([1-9])\s*$", re.IGNORECASE)

# Filter words for `status` in incident_io.incident.list, onto incident.io's API categories.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "open": ("triage", "live", "paused"),
    "active": ("live",),
    "post-incident": ("learning",),
    "resolved": ("learning", "closed"),
    **{
        c: (c,)
        for c in (
            "triage",
            "live",
            "learning",
            "closed",
            "paused",
            "declined",
            "canceled",
            "merged",
        )
    },
}


def level_of(
    severity: Severity, severities: Sequence[Severity], overrides: Mapping[str, str]
) -> str | None:
    """``SEV-n`` of a severity, by rank among the workspace's (or an override)."""
    return severity_level(
        severity.model_dump(),
        catalogue=[s.model_dump() for s in severities],
        overrides=overrides,
    )


def severities_matching(
    value: str, severities: Sequence[Severity], overrides: Mapping[str, str]
) -> list[Severity]:
    """Severities named ``value`` or at level ``SEV-n``; most severe first.

    Raises:
        InvalidRequestError: nothing matches; the message lists what would.
    """
    wanted = value.strip()
    match = _LEVEL.match(wanted)
    if match:
        level = f"SEV-{match.group(1)}"
        found = [s for s in severities if level_of(s, severities, overrides) == level]
    else:
        found = [s for s in severities if s.name.casefold() == wanted.casefold()]
    if not found:
        levels = sorted({lv for s in severities if (lv := level_of(s, severities, overrides))})
        names = [s.name for s in severities]
        raise InvalidRequestError(
            f"unknown severity '{value}': use one of {', '.join(levels + names)}"
        )
    return sorted(found, key=lambda s: -s.rank)


def status_named(value: str, statuses: Sequence[IncidentStatus]) -> IncidentStatus:
    """The status called ``value`` (case-insensitive).

    Raises:
        InvalidRequestError: no such status; the message lists the valid names.
    """
    for status in statuses:
        if status.name.casefold() == value.strip().casefold():
            return status
    raise InvalidRequestError(
        f"unknown status '{value}': use one of {', '.join(s.name for s in statuses)}"
    )


def first_in(category: str, statuses: Sequence[IncidentStatus]) -> IncidentStatus | None:
    """The lowest-rank status of ``category``, if the workspace has one."""
    found = [s for s in statuses if s.category == category]
    return min(found, key=lambda s: s.rank) if found else None


def option_named(
    value: str, options: Sequence[CustomFieldOption], *, field: str
) -> CustomFieldOption:
    for option in options:
        if option.value.casefold() == value.strip().casefold() or option.id == value:
            return option
    raise InvalidRequestError(
        f"unknown {field} '{value}': use one of {', '.join(o.value for o in options)}"
    )


def path_named(value: str, paths: Sequence[EscalationPath]) -> EscalationPath:
    for path in paths:
        if path.id == value or path.name.casefold() == value.strip().casefold():
            return path
    raise InvalidRequestError(
        f"unknown escalation path '{value}': use one of {', '.join(p.name for p in paths)}"
    )
