"""What the sandbox workspace holds beyond the simulators' own seed (the seed document's
channels and team), and the incident an event describes."""

from __future__ import annotations

import copy
import dataclasses
import re
import zlib
from collections.abc import Sequence
from typing import Any

from simulators.incident_io import SimulatorState
from simulators.incident_io import seed as s
from simulators.slack import SlackState
from simulators.slack.state import Channel

# The seeded workspace's severities by level: four severities, ranked 4 (SEV-1) .. 1 (SEV-4).
_LEVELS = {
    "SEV-1": s.SEVERITY_EMERGENCY,
    "SEV-2": s.SEVERITY_CRITICAL,
    "SEV-3": s.SEVERITY_MAJOR,
    "SEV-4": s.SEVERITY_MINOR,
}
_REFERENCE = re.compile(r"^(?:INC-)?(\d+)$", re.IGNORECASE)


# The channels and team the seed document's examples name (SPEC sections 7, 8, 8a), beside
# the simulators' own (#incidents, #exec, #payments-oncall, ...; teams Platform, Payments...).
SANDBOX_CHANNELS = ("oncall", "eng-team")
SANDBOX_TEAMS = ("eng-on-call",)


def _stable(kind: str, name: str) -> str:
    """An id that stays the same for a name across restarts (and in the state file)."""
    digest = zlib.crc32(name.encode())
    return f"C0SBX{digest:010d}" if kind == "channel" else s._id("CFP", 10**9 + digest)


def seed_sandbox_workspace(
    incident_io: SimulatorState,
    slack: SlackState,
    *,
    channels: Sequence[str] = (),
    teams: Sequence[str] = (),
) -> None:
    """Adds the sandbox's channels (and ``channels``) to Slack, and its teams (and ``teams``)
    to the options of incident.io's Team field."""
    for name in (*SANDBOX_CHANNELS, *channels):
        name = name.lstrip("#")
        if slack.find_channel(name) is None:
            slack.channels[_stable("channel", name)] = Channel(_stable("channel", name), name)
    ws = incident_io.workspace
    fields = []
    for f in ws.custom_fields:
        if f.id == s.FIELD_TEAM:
            known = {o.value.casefold() for o in f.options}
            wanted = [
                t for t in dict.fromkeys((*SANDBOX_TEAMS, *teams)) if t.casefold() not in known
            ]
            extra = [s.Option(_stable("team", t), t, 100 + i) for i, t in enumerate(wanted)]
            f = dataclasses.replace(f, options=(*f.options, *extra))
        fields.append(f)
    incident_io.workspace = dataclasses.replace(ws, custom_fields=tuple(fields))


def severity_id(severity: str) -> str | None:
    """The seeded workspace's severity id of ``SEV-n`` or of a severity name."""
    by_level = _LEVELS.get(severity.upper())
    if by_level is not None:
        return by_level
    names = s.build_workspace().severities
    return next((v.id for v in names if v.name.casefold() == severity.casefold()), None)


def seed_from_trigger(state: SimulatorState, trigger: dict[str, Any]) -> dict[str, Any]:
    """Creates the trigger's incident in the simulator; returns the trigger pointing at it.

    Title, severity (``SEV-n`` or a severity name), status (by name), team (a Team option)
    and the reference number are taken from ``$trigger.incident_io`` when present.
    """
    payload = trigger.get("incident_io")
    if not isinstance(payload, dict) or not payload.get("incident_id"):
        return trigger
    ws = state.workspace
    severity = str(payload.get("severity") or "")
    severity_id = _LEVELS.get(severity.upper()) or next(
        (v.id for v in ws.severities if v.name.casefold() == severity.casefold()), None
    )
    status_name = str(payload.get("status") or "").casefold()
    status_id = next(
        (v.id for v in ws.statuses if v.name.casefold() == status_name), s.STATUS_INVESTIGATING
    )
    team = _team_option(str(payload.get("team") or ""))
    number = _number(payload.get("reference"), state)
    incident = state.create_incident(
        str(payload.get("title") or "Sandbox incident"),
        status_id=status_id,
        severity_id=severity_id,
        summary=payload.get("summary"),
        custom_field_entries=(
            [{"custom_field_id": s.FIELD_TEAM, "values": [{"value_option_id": team}]}]
            if team
            else []
        ),
        number=number,
    )
    rewritten = copy.deepcopy(trigger)
    rewritten["incident_io"]["incident_id"] = incident.id
    if "reference" in payload:
        rewritten["incident_io"]["reference"] = incident.reference
    return rewritten


def _team_option(team: str) -> str | None:
    field = next(f for f in s.build_workspace().custom_fields if f.id == s.FIELD_TEAM)
    options = [(o.id, o.value) for o in field.options]
    options += [(_stable("team", t), t) for t in SANDBOX_TEAMS]
    return next((oid for oid, value in options if value.casefold() == team.casefold()), None)


def _number(reference: Any, state: SimulatorState) -> int | None:
    match = _REFERENCE.match(str(reference or ""))
    if match is None:
        return None
    number = int(match.group(1))
    taken = any(i.number == number for i in state.incidents.values())
    return None if taken else number
