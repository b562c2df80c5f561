"""An incident the key cannot read is retried a bounded number of times, and says why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from contracts.incident import Hint
from tests.waiting import eventually
from tests.workflows.test_incident import FETCHES, INCIDENTS, incident_id, start, worker
from workflows.incident import MAX_FETCH_ATTEMPTS, IncidentWorkflow

pytestmark = pytest.mark.asyncio


async def test_an_unreadable_incident_stops_being_fetched_and_explain_says_why(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    iid = incident_id()  # never in INCIDENTS: the fake answers "not found" (deleted, private)
    assert iid not in INCIDENTS
    async with worker(time_env, task_queue):
        handle = await start(time_env, task_queue, iid)
        # One fetch a minute until the attempts run out; an hour is far more than enough.
        await time_env.sleep(timedelta(hours=1))
        report = await handle.query(IncidentWorkflow.explain)
        assert FETCHES[iid] == MAX_FETCH_ATTEMPTS
        assert report.last_problem == (
            f"stopped fetching this incident after {MAX_FETCH_ATTEMPTS} failed attempts: "
            "Incident not found: confirm the incident ID; the next webhook or change tries again"
        )
        await time_env.sleep(timedelta(hours=6))
        assert FETCHES[iid] == MAX_FETCH_ATTEMPTS  # stopped, not retrying in the background
        await handle.signal(IncidentWorkflow.hint, Hint(source="webhook", webhook_id="msg_9"))

        async def tried_again() -> str | None:
            problem = (await handle.query(IncidentWorkflow.explain)).last_problem or ""
            return problem if f"after {MAX_FETCH_ATTEMPTS + 1} failed" in problem else None

        await eventually(tried_again)
        await time_env.sleep(timedelta(hours=1))
        assert FETCHES[iid] == MAX_FETCH_ATTEMPTS + 1  # a new hint is tried once, not again
