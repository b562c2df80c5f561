"""What a write node's output says it changed on an incident (pure, deterministic).

The interpreter reports these claims to the incident's workflow, which then recognises
the events the write causes (its timeline item, its field change, its incident update)
as rensei's own, so they do not start definitions again.
"""

from __future__ import annotations

from typing import Any

from contracts.incident import OwnWrite

UPDATE_FIELDS = {"severity": "severity", "status": "status", "name": "title", "summary": "summary"}
"""``incident_io.incident.update`` input -> the output field holding the value it set."""

TRACKED_NAME = {"severity": "severity", "status": "status", "name": "name", "summary": "summary"}
"""The same input -> the tracked value whose change is an ``updated`` event."""


def claim(
    *, workflow_id: str, step_id: str, node: str, inputs: dict[str, Any], output: Any
) -> OwnWrite:
    """The ``done`` report of a completed write step of type ``node``."""
    done = OwnWrite(workflow_id=workflow_id, step_id=step_id, phase="done")
    out = output if isinstance(output, dict) else {}
    match node:
        case "incident_io.timeline.add_event":
            if isinstance(out.get("id"), str):
                done.entry_ids.append(out["id"])
        case "incident_io.incident.update":
            for name, key in UPDATE_FIELDS.items():
                if inputs.get(name) is not None:
                    done.fields[TRACKED_NAME[name]] = out.get(key)
            # incident.io records an incident update for a severity or status change
            done.updates = int(
                inputs.get("severity") is not None or inputs.get("status") is not None
            )
        case "incident_io.incident.acknowledge" | "incident_io.incident.resolve":
            if isinstance(out.get("incidentStatus"), str):
                done.fields["status"] = out["incidentStatus"]
            done.updates = 1
        case _:
            done.updates = 1
    return done
