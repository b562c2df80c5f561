"""A burst of deliveries: every one accepted, no store error, one "last event" write."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from settings import Settings
from store import Store
from tests.api.test_webhooks import SECRET, body_for, signed
from tests.apps import AppTransport

pytestmark = [pytest.mark.asyncio, pytest.mark.devserver]


async def test_fifty_concurrent_deliveries_without_a_store_error(
    tmp_path: Path, dev_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    settings = Settings(
        data_dir=tmp_path / "data",
        task_queue=f"burst-{uuid.uuid4().hex[:8]}",
        incident_io_webhook_secret=SecretStr(SECRET),
        admin_token=SecretStr("admin-token-for-this-test-0123"),
        definitions_dir=tmp_path / "none",
    )
    store = Store.from_settings(settings)
    await store.migrate()
    await store.upsert_integration("default", "incident_io")
    worker_side = Store.from_settings(settings)  # the worker process's own connections
    writes: list[Any] = []
    record = store.record_integration_event

    async def counted(*args: Any, **kwargs: Any) -> None:
        writes.append(args)
        await record(*args, **kwargs)

    store.record_integration_event = counted  # type: ignore[method-assign]
    app = create_app(settings, store=store, client=dev_env.client)
    stop = asyncio.Event()

    async def sync_cursor_writes() -> int:
        count = 0
        while not stop.is_set():
            await worker_side.set_sync_cursor("default", "incident_io", f"cursor-{count}")
            count += 1
            await asyncio.sleep(0)
        return count

    cursors = asyncio.create_task(sync_cursor_writes())
    transport = AppTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rensei.test") as client:

        async def deliver() -> int:
            body = body_for(f"01{uuid.uuid4().hex[:10].upper()}")
            answer = await client.post(
                "/api/webhooks/ingest/incident-io", content=body, headers=signed(body)
            )
            return answer.status_code

        codes = await asyncio.gather(*(deliver() for _ in range(50)))
    stop.set()
    assert await cursors > 0
    await app.state.last_events.flush()
    assert codes == [200] * 50
    assert len(writes) <= 2  # the first at once, the rest folded into one trailing write
    found = await store.get_integration("default", "incident_io")
    assert found is not None and found.last_event_at is not None
    async with store.engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
    assert mode == "wal"
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []
    await worker_side.close()
    await store.close()
