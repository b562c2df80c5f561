"""A run waiting for resolution survives a worker and a Temporal server restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.debug import echo
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.incident import Hint, IncidentWorkflowInput
from contracts.runs import RunResult
from tests.e2e.test_temporal_outage import DevServer
from tests.waiting import eventually
from tests.workflows import test_incident as fakes
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio


def workers(client: Client, queue: str) -> tuple[Worker, Worker]:
    return (
        Worker(
            client,
            task_queue=queue,
            workflows=[IncidentWorkflow, InterpreterWorkflow],
            activities=[echo, *fakes.FAKE_DEFINITIONS],
        ),
        Worker(client, task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE, activities=[fakes.fake_snapshot]),
    )


async def connect(server: DevServer) -> Client:
    return await Client.connect(f"127.0.0.1:{server.port}", data_converter=pydantic_data_converter)


async def test_wait_for_survives_worker_and_server_restarts(tmp_path: Path) -> None:
    server = DevServer(tmp_path)
    await server.start()
    queue = f"restart-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    fakes.NOW, fakes.LATER = now.isoformat(), (now + timedelta(minutes=42)).isoformat()
    fakes.DEFINITIONS.clear()
    fakes.DEFINITIONS.update({"watch": (fakes.WATCH, True)})
    incident_id = fakes.incident_id()
    fakes.INCIDENTS[incident_id] = fakes.snapshot(incident_id)
    try:
        client = await connect(server)
        first, second = workers(client, queue)
        async with first, second:
            handle = await client.start_workflow(
                IncidentWorkflow.run,
                IncidentWorkflowInput(workspace="acme", incident_id=incident_id),
                id=f"incident-acme-{incident_id}",
                task_queue=queue,
                start_signal="hint",
                start_signal_args=[Hint(source="sync")],
            )
            report = await fakes.settle(handle, 1)
            run_id = report.events[0].decisions[0].workflow_id

            async def watched() -> bool | None:
                return True if (await handle.query(IncidentWorkflow.explain)).watchers else None

            await eventually(watched, seconds=15, message="the run never started watching")
        server.stop()  # the worker is gone too; only the database file remains
        await server.start()
        client = await connect(server)
        first, second = workers(client, queue)
        async with first, second:
            fakes.INCIDENTS[incident_id] = fakes.snapshot(
                incident_id,
                fields={"status": "Closed", "status_category": "closed", "updated_at": fakes.LATER},
            )
            incident = client.get_workflow_handle_for(
                IncidentWorkflow.run, f"incident-acme-{incident_id}"
            )
            await incident.signal(IncidentWorkflow.hint, Hint(source="sync"))
            run = client.get_workflow_handle_for(InterpreterWorkflow.run, run_id)
            result: RunResult = await run.result()
            steps = {s.id: s for s in result.steps}
            assert steps["until_resolved"].output["event"] == "resolved"
            assert steps["all_clear"].output == {"text": "All clear after 2520s"}
            assert steps["gave_up"].status == "skipped"
            await incident.terminate(reason="end of test")
    finally:
        server.stop()
