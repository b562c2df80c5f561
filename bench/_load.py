"""Open- and closed-loop load generators shared by the ingest benchmarks (no benchmark here)."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.report import percentile

Send = Callable[[int], Awaitable[None]]


@dataclass
class Load:
    """Latencies (seconds) of the requests that succeeded, and how the run went."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # actual minus intended send time
    seconds: float = 0.0  # from the first send to the last answer (summed over extend())

    def extend(self, other: Load) -> None:
        self.latencies += other.latencies
        self.failures += other.failures
        self.lags += other.lags
        self.seconds += other.seconds

    @property
    def throughput(self) -> float:
        """Answered requests per second."""
        return len(self.latencies) / self.seconds if self.seconds > 0 else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000 if self.latencies else float("nan")

    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


async def _timed(send: Send, i: int, load: Load, loop: asyncio.AbstractEventLoop) -> float:
    started = loop.time()
    try:
        await send(i)
    except Exception as exc:  # counted and reported, never hidden
        load.failures.append(f"{type(exc).__name__}: {exc}")
    else:
        load.latencies.append(loop.time() - started)
    return loop.time()


async def open_loop(send: Send, *, count: int, rate: float, offset: int = 0) -> Load:
    """Sends ``count`` requests at ``rate`` per second whatever the answers take.

    Each request runs in its own task, so a slow answer never delays the next send
    (no coordinated omission); ``lags`` shows how late the generator itself was.
    """
    loop = asyncio.get_running_loop()
    load = Load()
    start = loop.time() + 0.01
    tasks = []
    for i in range(count):
        intended = start + i / rate
        delay = intended - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        load.lags.append(loop.time() - intended)
        tasks.append(asyncio.create_task(_timed(send, offset + i, load, loop)))
    done = await asyncio.gather(*tasks)
    load.seconds = max(done) - start
    return load


async def closed_loop(send: Send, *, count: int, concurrency: int, offset: int = 0) -> Load:
    """``concurrency`` callers send ``count`` requests in all, each waiting for its answer."""
    loop = asyncio.get_running_loop()
    load = Load()
    queue = iter(range(offset, offset + count))
    start = loop.time()

    async def caller() -> None:
        for i in queue:
            await _timed(send, i, load, loop)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    load.seconds = loop.time() - start
    return load
