"""How tests get a started run's outcome, whether it ran as a child workflow or inline."""

from __future__ import annotations

from temporalio.client import Client, WorkflowFailureError

import temporal_client
from contracts.incident import Decision
from contracts.runs import RunResult
from tests.waiting import eventually
from workflows.incident import IncidentWorkflow


async def run_result(client: Client, incident_workflow_id: str, decision: Decision) -> RunResult:
    """The final result of the run ``decision`` started (a failed run's too)."""
    assert decision.workflow_id is not None, decision
    if decision.inline:
        handle = client.get_workflow_handle_for(IncidentWorkflow.run, incident_workflow_id)
        run_id = decision.workflow_id

        async def ended() -> RunResult | None:
            found = await handle.query(IncidentWorkflow.run_state, run_id)
            return found if found is not None and found.status != "running" else None

        return await eventually(ended, message=f"inline run {run_id} never ended")
    child = client.get_workflow_handle(decision.workflow_id, result_type=RunResult)
    try:
        return await child.result()
    except WorkflowFailureError as exc:
        # Only a failed step's report: a run failing any other way fails the test.
        carried = temporal_client.result_of_failure(exc)
        if carried is None:
            raise
        return carried


def has_ended(decision: Decision) -> bool | None:
    """For an inline run: whether the explain report shows it ended (None: a child run)."""
    return decision.run is not None if decision.inline else None
