"""The ``incident-responder`` agent's behaviour: work a while, then report a mitigation."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from a2a.helpers.proto_helpers import (
    get_data_parts,
    get_text_parts,
    new_data_part,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types.a2a_pb2 import Task, TaskState, TaskStatus

logger = logging.getLogger(__name__)

SIMULATE_FAIL = "fail"
SIMULATE_HANG = "hang"


@dataclass
class AgentConfig:
    """How the simulated agent behaves and where it says it lives.

    ``public_url`` is the base URL written into the agent card; ``rpc_path`` is where
    JSON-RPC is served. ``work_seconds`` is how long a task stays WORKING.
    """

    public_url: str = "http://127.0.0.1:8790"
    rpc_path: str = "/a2a/v1"
    work_seconds: float = 1.0
    name: str = "incident-responder"
    push_notifications: bool = True


@dataclass
class AgentRecord:
    """What the simulator saw: the inputs of each task and how it ended."""

    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)


def message_input(context: RequestContext) -> dict[str, Any]:
    """Merges the data parts of the incoming message; text parts land under ``text``."""
    merged: dict[str, Any] = {}
    if context.message is None:
        return merged
    for data in get_data_parts(context.message.parts):
        if isinstance(data, dict):
            merged.update(data)
    texts = get_text_parts(context.message.parts)
    if texts:
        merged.setdefault("text", "\n".join(texts))
    return merged


def summarise(data: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The summary sentence and the structured actions reported for an incident."""
    incident = str(data.get("incident_id") or data.get("id") or "the incident")
    service = str(data.get("service") or "payments-api")
    severity = str(data.get("severity") or "unknown")
    actions: list[dict[str, Any]] = [
        {"type": "restart", "target": service, "status": "done"},
        {"type": "verify", "target": f"{service} error rate", "status": "baseline"},
    ]
    text = f"Mitigated {incident}: restarted {service}; error rate back to baseline."
    if data.get("title"):
        text += f" ({data['title']}, severity {severity})"
    return text, actions


class IncidentResponderExecutor(AgentExecutor):
    """Emits WORKING, waits ``work_seconds``, then COMPLETED with a summary artifact.

    ``{"simulate": "fail"}`` in a data part ends in FAILED; ``"hang"`` works until cancelled.
    """

    def __init__(self, config: AgentConfig, record: AgentRecord) -> None:
        self._config = config
        self._record = record

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = _ids(context)
        if context.current_task is None:
            history = [context.message] if context.message is not None else []
            submitted = TaskStatus(state=TaskState.TASK_STATE_SUBMITTED)
            task = Task(id=task_id, context_id=context_id, status=submitted, history=history)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task_id, context_id)
        data = message_input(context)
        self._record.inputs[task_id] = data
        incident = str(data.get("incident_id") or "the incident")
        await updater.start_work(
            updater.new_agent_message([new_text_part(f"Looking at {incident}")])
        )
        simulate = data.get("simulate")
        if simulate == SIMULATE_HANG:
            await asyncio.Event().wait()  # until CancelTask cancels this coroutine
        await asyncio.sleep(self._config.work_seconds)
        if simulate == SIMULATE_FAIL:
            self._record.outcomes[task_id] = "failed"
            reason = f"Could not mitigate {incident}: simulated failure"
            await updater.failed(updater.new_agent_message([new_text_part(reason)]))
            return
        text, actions = summarise(data)
        parts = [new_text_part(text), new_data_part({"incident_id": incident, "actions": actions})]
        await updater.add_artifact(parts, name="summary")
        self._record.outcomes[task_id] = "completed"
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = _ids(context)
        self._record.outcomes[task_id] = "canceled"
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.cancel(updater.new_agent_message([new_text_part("Cancelled by caller")]))


def _ids(context: RequestContext) -> tuple[str, str]:
    if context.task_id is None or context.context_id is None:
        raise ValueError("the SDK gave the executor a request context without task/context ids")
    return context.task_id, context.context_id
