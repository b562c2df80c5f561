"""Where woken runs waited: their Temporal histories, read back after a benchmark.

For a sample of incidents, the incident's workflow and its definition runs are read from
the server, and every gap after a moment (the storm's start) is sorted by kind: a hint's
arrival, a workflow task waiting for a worker or running on it, an activity waiting on its
task queue or running. Timestamps are the server's, so the figures need no instrumentation
of the stack.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.report import percentile

Waits = dict[str, list[float]]


def _at(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime().replace(tzinfo=UTC).timestamp()


def _gaps(events: list[HistoryEvent], since: float, out: Waits) -> None:
    began: dict[int, tuple[float, str]] = {}  # scheduled or started event id -> (at, name)
    signalled: set[str] = set()
    for event in events:
        at, kind = _at(event), event.event_type
        if at < since:
            continue
        out["history events"].append(1.0)
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            name = event.workflow_execution_signaled_event_attributes.signal_name
            out[f"signal {name}: arrived after the start"].append(at - since)
            if name not in signalled:
                signalled.add(name)
                out[f"signal {name}: the first arrived after the start"].append(at - since)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            began[event.event_id] = (at, "workflow task")
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            began[event.event_id] = (at, name)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            scheduled = event.workflow_task_started_event_attributes.scheduled_event_id
            _gap(began, scheduled, event.event_id, at, out)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            scheduled = event.activity_task_started_event_attributes.scheduled_event_id
            _gap(began, scheduled, event.event_id, at, out)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            started = event.workflow_task_completed_event_attributes.started_event_id
            _gap(began, started, None, at, out)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            started = event.activity_task_completed_event_attributes.started_event_id
            _gap(began, started, None, at, out)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            out["workflow task: timed out (count)"].append(1.0)


def _gap(
    began: dict[int, tuple[float, str]],
    since_id: int,
    started_id: int | None,
    at: float,
    out: Waits,
) -> None:
    """Notes the wait since event ``since_id``: queued when a start follows, else running."""
    found = began.pop(since_id, None)
    if found is None:
        return
    moment, name = found
    out[f"{name}: {'queued' if started_id is not None else 'running'}"].append(at - moment)
    if started_id is not None:
        began[started_id] = (at, name)


def table(found: Waits) -> str:
    """A Markdown table of the waits: count, p50 and p90 seconds, and the sum."""
    rows = ["| wait | n | p50 s | p90 s | sum s |", "|---|---|---|---|---|"]
    for name in sorted(found):
        values = found[name]
        if name.endswith("(count)") or name == "history events":
            rows.append(f"| {name} | {len(values)} | | | |")
            continue
        rows.append(
            f"| {name} | {len(values)} | {percentile(values, 50):.2f} "
            f"| {percentile(values, 90):.2f} | {sum(values):.0f} |"
        )
    return "\n".join(rows)


async def waits(client: Client, workflow_ids: list[str], since: float) -> Waits:
    """The gaps in the histories of ``workflow_ids`` after ``since`` (epoch seconds)."""
    out: Waits = defaultdict(list)
    for workflow_id in workflow_ids:
        events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
        _gaps(events, since, out)
    return out
