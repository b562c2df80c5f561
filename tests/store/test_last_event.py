"""Last-event writes: one at once, the rest of a burst folded into one trailing write."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from settings import Settings
from store import Store
from store.last_event import LastEventWriter

pytestmark = pytest.mark.asyncio


class Recorder:
    def __init__(self) -> None:
        self.writes: list[tuple[str, str, datetime]] = []

    async def record_integration_event(self, workspace: str, kind: str, *, at: datetime) -> None:
        self.writes.append((workspace, kind, at))


async def test_a_burst_is_one_write_now_and_one_trailing_write_with_the_latest_time() -> None:
    recorder = Recorder()
    writer = LastEventWriter(recorder, interval=0.05)  # type: ignore[arg-type]
    for _ in range(20):
        await writer.note("acme", "incident_io")
    await writer.note("other", "incident_io")
    assert [(w, k) for w, k, _ in recorder.writes] == [
        ("acme", "incident_io"),
        ("other", "incident_io"),
    ]
    await asyncio.sleep(0.2)
    acme = [at for w, _, at in recorder.writes if w == "acme"]
    assert len(acme) == 2
    assert acme[1] > acme[0]


async def test_pending_writes_are_flushed_at_shutdown() -> None:
    recorder = Recorder()
    writer = LastEventWriter(recorder, interval=60.0)  # type: ignore[arg-type]
    async with writer.closing():
        await writer.note("acme", "incident_io")
        await writer.note("acme", "incident_io")
        assert len(recorder.writes) == 1
    assert len(recorder.writes) == 2


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(settings: Settings) -> None:
    store = Store.from_settings(settings)
    await store.migrate()
    async with store.engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
        timeout: Any = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
    assert mode == "wal"
    await store.close()
    assert int(timeout) >= 5000
