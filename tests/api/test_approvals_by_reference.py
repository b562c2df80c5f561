"""``POST /api/approvals/INC-42/<step>``: an incident reference names the run whose step waits."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.debug import echo
from api.app import create_app
from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE
from contracts.runs import InterpretInput
from interpreter.compiler import compile_text
from settings import Settings
from stack.references import run_waiting_for_approval
from store import Store
from temporal_client import start_run
from tests.apps import AppTransport
from tests.cli.test_approve import DEFINITION, post, resolve
from tests.waiting import eventually
from tests.workflows.helpers import CATALOGUE, timeline_add_event
from workflows.interpreter import InterpreterWorkflow

pytestmark = pytest.mark.asyncio


ADMIN = "admin-token-for-reference-tests-01"


async def test_an_operator_decides_by_incident_reference(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    reference = f"INC-{uuid.uuid4().int % 10**9}"
    params = InterpretInput(
        plan=compile_text(DEFINITION, file="gate.yaml", catalogue=CATALOGUE),
        trigger={"incident_io": {"reference": reference}},
        incident_id="01INCAPI",
        set_search_attributes=False,
    )
    settings = Settings(data_dir=tmp_path, admin_token=SecretStr(ADMIN))
    store = Store.from_settings(settings)
    await store.migrate()
    app = create_app(settings, store=store, client=dev_env.client)
    transport = AppTransport(app=app)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        Worker(
            dev_env.client,
            task_queue=task_queue,
            workflows=[InterpreterWorkflow],
            activities=[echo, post, resolve],
        ),
        # the decision goes onto the incident's timeline, where incident.io calls run
        Worker(
            dev_env.client,
            task_queue=DEFAULT_INCIDENT_IO_TASK_QUEUE,
            activities=[timeline_add_event],
        ),
        httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as api,
    ):
        handle = await start_run(
            dev_env.client, params, workflow_id=f"api-ref-{uuid.uuid4().hex}", task_queue=task_queue
        )

        async def waiting() -> str | None:
            try:
                return await run_waiting_for_approval(dev_env.client, "default", reference, "gate")
            except LookupError:
                return None

        assert await eventually(waiting) == handle.id
        other = await api.post("/api/approvals/INC-0/gate", json={"decision": "approved"})
        assert other.status_code == 404 and "no run of INC-0" in other.json()["detail"]
        decided = await api.post(f"/api/approvals/{reference}/gate", json={"decision": "approved"})
        assert decided.status_code == 200, decided.text
        result = await handle.result()
    await store.close()
    assert [s.status for s in result.steps] == ["completed", "skipped"]
