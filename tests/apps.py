"""The API app in-process, shut down as its lifespan would be."""

from __future__ import annotations

import httpx


class AppTransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` that, when its client closes, does what the app's lifespan does
    at shutdown and ASGITransport never runs: writes the pending "last event" times.

    Without it a coalesced write outlives its test, wakes seconds later in another test's
    time, and reopens the closed store's database (a connection nobody closes).
    """

    async def aclose(self) -> None:
        await self.app.state.last_events.flush()
        await super().aclose()
