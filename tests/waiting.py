"""One way for tests to wait for state that can only be queried, never awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.05  # seconds between two checks


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    seconds: float = 30,
    interval: float = INTERVAL,
    message: str | Callable[[], str] = "the condition did not hold in time",
) -> T:
    """Calls ``check`` until it returns something other than None, and returns that.

    A check that hangs counts against ``seconds`` too. On the deadline the test fails with
    ``message`` (called then if it is a function, so it can describe the last state seen).
    """
    timeout = asyncio.timeout(seconds)
    try:
        async with timeout:
            while True:
                found = await check()
                if found is not None:
                    return found
                await asyncio.sleep(interval)
    except TimeoutError:
        if not timeout.expired():
            raise
    raise AssertionError(message() if callable(message) else message)
