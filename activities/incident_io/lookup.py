"""Resolves the names users write (SEV-2, "Fixing", "Payments") into incident.io ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from activities.errors import InvalidRequestError
from activities.incident_io.models import (
    CustomFieldOption,
    EscalationPath,
    IncidentStatus,
    Severity,
)
from activities.incident_io.normalize import LEVEL_FORM, severity_levels

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


def severity_mapping(
    severities: Sequence[Severity], overrides: Mapping[str, str]
) -> list[tuple[str, Severity]]:
    """``(SEV-n, severity)`` for every workspace severity, SEV-1 first."""
    levels = severity_levels([s.model_dump() for s in severities], overrides)
    pairs = [(levels[s.id], s) for s in severities]
    return sorted(pairs, key=lambda pair: int(pair[0].removeprefix("SEV-")))


def severity_matching(
    value: str, severities: Sequence[Severity], overrides: Mapping[str, str]
) -> Severity:
    """The one severity ``value`` names: a rensei level ``SEV-n``, else the workspace's own
    name (``SEV0``, ``P1``, ``Critical``, case-insensitive), else its id.

    The dashed ``SEV-n`` form always means rensei's level, so the value a trigger payload
    carries in ``severity`` sets that same severity back.

    Raises:
        InvalidRequestError: nothing matches; the message lists what would.
    """
    wanted = value.strip()
    mapping = severity_mapping(severities, overrides)
    level = LEVEL_FORM.match(wanted)
    for mapped, severity in mapping:
        if level is not None and mapped == f"SEV-{int(level.group(1))}":
            return severity
    for _, severity in mapping:
        if wanted.casefold() in (severity.name.casefold(), severity.id.casefold()):
            return severity
    choices = ", ".join(f"{mapped} ({severity.name})" for mapped, severity in mapping)
    raise InvalidRequestError(f"unknown severity '{value}': use one of {choices}")


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
