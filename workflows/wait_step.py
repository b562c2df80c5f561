"""``incident_io.incident.wait_for``: wait durably for an incident event forwarded to this run.

The run asks the incident's workflow to forward the events after the one that started it
(so an event that happened while the run was busy is not missed) that match what it waits
for, then waits on a workflow condition with a durable timer: worker and server restarts
change nothing. The incident's workflow forgets the run once it forwarded the match, so the
run signals ``unwatch`` only when it stops waiting without one (its timeout).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import calls
from workflows.host import StepHost

WATCH_ONCE = "watch-once"
"""Patch: the watch request names the event waited for, and a match needs no unwatch."""

with workflow.unsafe.imports_passed_through():
    from contracts.events import IncidentEvent
    from contracts.ids import incident_workflow_id
    from contracts.incident import WatchRequest
    from contracts.steps import WaitForInput, WaitForOutput
    from interpreter.plan import ActionStep, NodeCall


async def run(host: StepHost, step: ActionStep, call: NodeCall) -> dict[str, Any]:
    """Waits for the event ``step`` describes; returns ``WaitForOutput`` as a dict."""
    params = calls.inputs_of(WaitForInput, call)
    incident_id = params.incidentId or call.context.incident_id
    if not incident_id:
        raise ApplicationError(
            f"step '{step.id}' has no incident to wait on: set incidentId", non_retryable=True
        )
    own = incident_id == call.context.incident_id
    after = host.event_seq if own else 0
    target = incident_workflow_id(call.context.workspace, incident_id)
    wanted = WatchRequest(
        workflow_id=workflow.info().workflow_id,
        step_id=step.id,
        after_seq=after,
        event=params.event,
        field=params.field,
        value=params.value,
    )
    # Runs that watched before this patch asked for every event and signalled unwatch after
    # their match; replaying them must send the same commands.
    named = workflow.patched(WATCH_ONCE)
    legacy = {"event": None, "field": None, "value": None}
    request = wanted if named else wanted.model_copy(update=legacy)
    handle = workflow.get_external_workflow_handle(target)
    try:
        await handle.signal("watch", request)
    except Exception as exc:  # the incident's workflow does not exist: say so clearly
        raise ApplicationError(
            f"incident {incident_id} is not followed by rensei ({exc}); is incident.io connected?",
            non_retryable=True,
        ) from None
    found: list[IncidentEvent] = []

    def matched() -> bool:
        for event in host.events:
            if event.seq > after and _matches(event, wanted, incident_id):
                found.append(event)
                return True
        return False

    try:
        await workflow.wait_condition(matched, timeout=timedelta(seconds=params.timeout))
    except TimeoutError:
        found.clear()
    if not (found and named):  # after a match, the incident's workflow forgot the run itself
        try:
            await handle.signal("unwatch", request)
        except Exception as exc:  # the incident's workflow ended meanwhile: nothing to undo
            workflow.logger.info("unwatch of %s failed: %s", target, exc)
    if found:
        event = found[0]
        return WaitForOutput(
            matched=True,
            event=event.kind,
            field=event.field,
            old_value=event.payload.get("old_value"),
            new_value=event.payload.get("new_value"),
            payload=event.payload,
        ).model_dump(mode="json")
    if "onTimeout" in step.branches:
        return WaitForOutput(matched=False, branch="onTimeout").model_dump(mode="json")
    raise ApplicationError(
        f"no '{params.event}' event for incident {incident_id} "
        f"within {calls.human_duration(params.timeout)}",
        non_retryable=True,
    )


def _matches(event: IncidentEvent, request: WatchRequest, incident_id: str) -> bool:
    return event.payload.get("incident_id") == incident_id and request.wants(event)
