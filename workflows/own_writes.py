"""What a write step's output says it changed on an incident (pure, deterministic).

The interpreter reports these claims to the incident's workflow, which then recognises
the events the write causes (its timeline item, its field change, its incident update)
as rensei's own, so they do not start definitions again. What each node writes is
catalogue data, carried by the step (``ActionStep.incident_write``).
"""

from __future__ import annotations

from typing import Any

from contracts.incident import OwnWrite
from interpreter.plan import IncidentWrite


def claim(
    write: IncidentWrite | None,
    *,
    workflow_id: str,
    step_id: str,
    inputs: dict[str, Any],
    output: Any,
) -> OwnWrite:
    """The ``done`` report of a completed step that made ``write``."""
    done = OwnWrite(workflow_id=workflow_id, step_id=step_id, phase="done")
    if write is None:
        return done
    out = output if isinstance(output, dict) else {}
    if write.entry_output is not None and isinstance(out.get(write.entry_output), str):
        done.entry_ids.append(out[write.entry_output])
    for field in write.fields:
        if field.input is None:
            if isinstance(out.get(field.output), str):
                done.fields[field.tracked] = out[field.output]
        elif inputs.get(field.input) is not None:
            done.fields[field.tracked] = out.get(field.output)
    if isinstance(write.updates, bool):
        done.updates = int(write.updates)
    else:
        done.updates = int(any(inputs.get(name) is not None for name in write.updates))
    return done
