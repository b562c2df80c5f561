"""Waiting for a dependency (Temporal, the database) with capped exponential backoff.

A process that starts before its dependency, or loses it, waits and says so once: one log
line when it starts waiting ("waiting for Temporal at X"), one when it is connected again,
nothing in between but debug lines. The caller decides what counts as "not up yet" by the
exception types it passes; anything else still propagates (a wrong setting is not a wait).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError

if TYPE_CHECKING:
    from settings import Settings
    from store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays of ``initial``, ``initial * factor``, ... never more than ``cap`` seconds."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 10.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield min(delay, self.cap)
            delay = min(delay * self.factor, self.cap)


async def until_up(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    where: str,
    transient: tuple[type[BaseException], ...],
    permanent: tuple[type[BaseException], ...] = (),
    backoff: Backoff = Backoff(),
    logger: logging.Logger = log,
) -> T:
    """Calls ``attempt`` until it returns, sleeping by ``backoff`` after each transient error.

    Args:
        attempt: one try (connect, migrate, ping).
        what: the dependency's name in the log lines ("Temporal", "the database").
        where: its address, without credentials.
        transient: exception types that mean "not up yet"; others propagate at once.
        permanent: subclasses of those that still propagate at once (a wrong setting).
        backoff: the delays between tries.
        logger: where the state changes are logged.
    """
    started = time.monotonic()
    waiting = False
    for delay in backoff.delays():
        try:
            found = await attempt()
        except permanent:
            raise
        except transient as exc:
            if not waiting:
                logger.warning("waiting for %s at %s (%s)", what, where, _reason(exc))
                waiting = True
            else:
                logger.debug("%s at %s still down (%s); next try in %.1fs", what, where, exc, delay)
            await asyncio.sleep(delay)
            continue
        if waiting:
            logger.info(
                "connected to %s at %s after %.1fs", what, where, time.monotonic() - started
            )
        else:
            logger.info("connected to %s at %s", what, where)
        return found
    raise AssertionError("unreachable: Backoff.delays() never ends")  # pragma: no cover


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    OSError,
    TimeoutError,
)
"""What the database raises while it does not answer (yet)."""


async def migrate_with_backoff(store: Store, settings: Settings) -> None:
    """Migrates the store, waiting for the database with capped exponential backoff."""
    await until_up(
        store.migrate,
        what="the database",
        where=store.engine.url.render_as_string(hide_password=True),
        transient=DATABASE_DOWN,
        backoff=Backoff(cap=settings.reconnect_max_interval),
        logger=log,
    )
