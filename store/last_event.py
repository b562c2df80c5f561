"""The "last event" time of an integration, written at most once per workspace per interval.

Every accepted webhook notes when it arrived; under a burst that is one write per delivery to
the same row, which is what made SQLite answer ``database is locked``. The time is shown on the
settings page only, so a few seconds of lag cost nothing: the first delivery of a quiet
workspace is written at once, later ones within ``interval`` are folded into one trailing write
that carries the latest time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from store.store import Store

log = logging.getLogger(__name__)

COALESCE_SECONDS = 5.0


class LastEventWriter:
    """Coalesces ``Store.record_integration_event`` calls per (workspace, integration)."""

    def __init__(
        self,
        store: Store,
        *,
        interval: float = COALESCE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.interval = interval
        self._clock = clock
        self._written: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], datetime] = {}
        self._flushes: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def note(self, workspace: str, kind: str) -> None:
        """Records that an event for ``workspace`` arrived now (maybe a few seconds later)."""
        key = (workspace, kind)
        at = datetime.now(UTC)
        last = self._written.get(key)
        now = self._clock()
        if last is not None and now - last < self.interval:
            if key not in self._pending:
                delay = self.interval - (now - last)
                self._flushes[key] = asyncio.create_task(self._flush_later(key, delay))
            self._pending[key] = at
            return
        await self._write(key, at)

    async def _flush_later(self, key: tuple[str, str], delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            at = self._pending.pop(key, None)
            if at is not None:
                await self._write(key, at)
        finally:
            if self._flushes.get(key) is asyncio.current_task():
                del self._flushes[key]

    async def _write(self, key: tuple[str, str], at: datetime) -> None:
        self._written[key] = self._clock()
        try:
            await self.store.record_integration_event(key[0], key[1], at=at)
        except SQLAlchemyError as exc:
            # Temporal holds the event already; only the settings page's "last event" lags.
            log.warning("could not note the last %s event of %s: %s", key[1], key[0], exc)

    async def flush(self) -> None:
        """Writes what is pending now (at shutdown)."""
        for key, task in list(self._flushes.items()):
            if key in self._pending:
                task.cancel()  # still sleeping: its write is done below
            else:
                await task  # writing: a cancelled write would leave its connection open
        pending, self._pending = self._pending, {}
        for key, at in pending.items():
            await self._write(key, at)

    @contextlib.asynccontextmanager
    async def closing(self) -> AsyncIterator[None]:
        """Flushes pending writes when the block exits."""
        try:
            yield
        finally:
            await self.flush()
