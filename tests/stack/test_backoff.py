"""Capped exponential backoff, and one log line per state change while waiting."""

from __future__ import annotations

import itertools
import logging

import pytest

from stack.backoff import Backoff, until_up


def test_delays_double_up_to_the_cap() -> None:
    delays = list(itertools.islice(Backoff(initial=0.5, factor=2.0, cap=3.0).delays(), 6))
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


@pytest.mark.asyncio
async def test_waits_through_transient_errors_and_logs_each_state_change_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tries = 0

    async def attempt() -> str:
        nonlocal tries
        tries += 1
        if tries < 4:
            raise ConnectionRefusedError(f"refused #{tries}")
        return "client"

    found = await until_up(
        attempt,
        what="Temporal",
        where="127.0.0.1:1",
        transient=(OSError,),
        backoff=Backoff(initial=0.001, cap=0.002),
    )
    assert found == "client"
    assert tries == 4
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert lines[0] == "waiting for Temporal at 127.0.0.1:1 (refused #1)"
    assert lines[1].startswith("connected to Temporal at 127.0.0.1:1 after ")
    assert len(lines) == 2


@pytest.mark.asyncio
async def test_an_error_that_is_not_a_wait_propagates_at_once() -> None:
    async def attempt() -> None:
        raise ValueError("bad address")

    with pytest.raises(ValueError, match="bad address"):
        await until_up(attempt, what="Temporal", where="x", transient=(OSError,))
