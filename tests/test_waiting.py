"""The shared wait: returns the first value found, fails clearly on its deadline."""

from __future__ import annotations

import asyncio

import pytest

from tests.waiting import eventually

pytestmark = pytest.mark.asyncio


async def test_returns_the_first_value_found() -> None:
    calls = 0

    async def third_time() -> int | None:
        nonlocal calls
        calls += 1
        return calls if calls == 3 else None

    assert await eventually(third_time, interval=0) == 3


async def test_fails_with_the_message_on_its_deadline() -> None:
    async def never() -> None:
        return None

    with pytest.raises(AssertionError, match=r"^still nothing after 2 checks$"):
        await eventually(never, seconds=0.05, message=lambda: "still nothing after 2 checks")


async def test_a_hanging_check_counts_against_the_deadline() -> None:
    async def hangs() -> None:
        await asyncio.Event().wait()

    with pytest.raises(AssertionError, match="did not hold in time"):
        await eventually(hangs, seconds=0.05)


async def test_a_timeout_raised_by_the_check_is_not_taken_for_the_deadline() -> None:
    async def times_out() -> None:
        raise TimeoutError("the check's own timeout")

    with pytest.raises(TimeoutError, match="the check's own timeout"):
        await eventually(times_out, seconds=5)
