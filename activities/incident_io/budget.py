"""Per-worker-process helpers shared by every incident.io activity: catalogue cache, call budget.

Both are keyed by ``(base_url, workspace)`` so that workspaces never share a budget or see
each other's catalogues.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Clock = Callable[[], float]


@dataclass
class _Entry:
    value: Any
    expires: float


class CatalogueCache:
    """Severities, statuses and custom fields of each workspace, kept for ``ttl`` seconds.

    A workflow typically reads the same catalogue on every step; caching it per worker
    process keeps repeated updates from refetching (SPEC §10). One lock per key means
    concurrent activities of a process fetch a missing catalogue once, not once each.
    """

    def __init__(self, *, ttl: float = 60.0, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}

    async def get(self, key: tuple[str, ...], load: Callable[[], Awaitable[T]]) -> T:
        """The cached value of ``key``, loading it with ``load`` when missing or stale."""
        entry = self._entries.get(key)
        if entry is not None and entry.expires > self._clock():
            value: T = entry.value
            return value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires > self._clock():
                return entry.value  # type: ignore[no-any-return]
            loaded = await load()
            self._entries[key] = _Entry(loaded, self._clock() + self.ttl)
            return loaded

    def clear(self) -> None:
        self._entries.clear()


class CallBudget:
    """A token bucket per ``(base_url, workspace)``: every HTTP call takes one token.

    This is the second guard behind the task queue's server-side activity rate: a node
    may make several calls (get + update + escalation acks), and the bucket makes the
    process pay for each of them. It is per process, so N worker processes may together
    exceed it briefly; the task-queue limit (set below the budget by a headroom) bounds
    the sum, and a 429 from incident.io is the last guard.
    """

    def __init__(
        self,
        *,
        per_minute: float,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, self.rate)
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def _reserve(self, key: tuple[str, str]) -> float:
        now = self._clock()
        tokens, updated = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - updated) * self.rate) - 1.0
        self._buckets[key] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / self.rate

    async def acquire(self, key: tuple[str, str]) -> float:
        """Takes a token, waiting for it if the bucket is empty; returns the seconds waited."""
        wait = self._reserve(key)
        if wait > 0:
            await self._sleep(wait)
        return wait
