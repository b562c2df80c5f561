"""The sandbox simulators' state kept in the data directory, so ``make run`` restarts keep it.

Runs that wait on a sandbox incident (``wait_for: resolved``, the incident workflow itself)
survive a restart in Temporal; the incidents, Slack messages and Linear issues they refer
to must too. The state is one JSON file, ``<data_dir>/sandbox/simulators.json``, written
atomically whenever it changes and once more at shutdown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Union

from simulators.incident_io import SimulatorState
from simulators.linear import LinearState
from simulators.slack import SlackState

log = logging.getLogger(__name__)

VERSION = 1
SAVE_EVERY_SECONDS = 1.0


def _fields() -> dict[str, dict[str, Any]]:
    """``simulator -> attribute -> annotation``, read from the simulators' own classes."""
    from simulators.incident_io import records
    from simulators.linear import state as linear
    from simulators.slack import state as slack

    return {
        "incident_io": {
            "incidents": dict[str, records.IncidentRecord],
            "updates": list[records.UpdateRecord],
            "timeline": list[records.TimelineItemRecord],
            "escalations": dict[str, records.EscalationRecord],
            "idempotency": dict[tuple[str, str], str],
        },
        "slack": {"channels": dict[str, slack.Channel], "messages": list[slack.Message]},
        "linear": {
            "teams": dict[str, linear.Team],
            "labels": dict[str, linear.Label],
            "issues": list[linear.Issue],
        },
    }


def state_file(data_dir: Path) -> Path:
    return Path(data_dir) / "sandbox" / "simulators.json"


def encode(value: Any) -> Any:
    """Plain JSON for dataclasses, datetimes, tuples and dicts with tuple keys."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v) for k, v in value.items()}
        return [[encode(k), encode(v)] for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(annotation: Any, data: Any) -> Any:
    """The inverse of ``encode`` for a value of type ``annotation``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        if data is None:
            return None
        options = [a for a in args if a is not type(None)]
        return decode(options[0], data) if len(options) == 1 else data
    if origin is dict:
        key_type, value_type = args
        pairs = data.items() if isinstance(data, dict) else data
        return {decode(key_type, k): decode(value_type, v) for k, v in pairs}
    if origin is list:
        return [decode(args[0], v) for v in data]
    if origin is tuple:
        return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        known = {f.name for f in dataclasses.fields(annotation) if f.init}
        return annotation(**{k: decode(hints[k], v) for k, v in data.items() if k in known})
    if annotation is datetime:
        return datetime.fromisoformat(data)
    return data


def snapshot(incident_io: SimulatorState, slack: SlackState, linear: LinearState) -> str:
    """The simulators' data as one JSON text."""
    sims = {"incident_io": incident_io, "slack": slack, "linear": linear}
    body = {
        name: {attr: encode(getattr(sims[name], attr)) for attr in attrs}
        for name, attrs in _fields().items()
    }
    return json.dumps({"version": VERSION, **body}, sort_keys=True)


def restore(
    path: Path, incident_io: SimulatorState, slack: SlackState, linear: LinearState
) -> bool:
    """Loads ``path`` into the simulators; False when there is nothing (or nothing usable)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        log.error("sandbox state %s is unreadable (%s); the simulators start empty", path, exc)
        return False
    if not isinstance(document, dict) or document.get("version") != VERSION:
        log.error("sandbox state %s has an unknown format; the simulators start empty", path)
        return False
    sims = {"incident_io": incident_io, "slack": slack, "linear": linear}
    try:
        decoded = {
            name: {
                attr: decode(annotation, document[name][attr]) for attr, annotation in attrs.items()
            }
            for name, attrs in _fields().items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        log.error("sandbox state %s does not fit (%s); the simulators start empty", path, exc)
        return False
    for name, attrs in decoded.items():
        for attr, value in attrs.items():
            setattr(sims[name], attr, value)
    return True


def save(path: Path, text: str) -> None:
    """Writes ``text`` atomically (a crash leaves the previous file whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


async def keep(
    path: Path,
    incident_io: SimulatorState,
    slack: SlackState,
    linear: LinearState,
    *,
    stop: asyncio.Event,
) -> None:
    """Saves the simulators' data whenever it changed, until ``stop``, then once more."""
    written = snapshot(incident_io, slack, linear)
    while True:
        stopping = False
        try:
            await asyncio.wait_for(stop.wait(), timeout=SAVE_EVERY_SECONDS)
            stopping = True
        except TimeoutError:
            pass
        current = snapshot(incident_io, slack, linear)
        if current != written:
            save(path, current)
            written = current
        if stopping:
            return
