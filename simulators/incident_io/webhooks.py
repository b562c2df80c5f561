"""Standard-Webhooks-signed deliveries with Svix's retry schedule, in background asyncio tasks."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

logger = logging.getLogger(__name__)

RETRY_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds to wait before each attempt (Svix: immediately, 5 s, 5 min, 30 min, 2 h, ...)."""


@dataclass
class Attempt:
    """One POST of a message to the endpoint."""

    attempt: int
    timestamp: int
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Delivery:
    """A message and every attempt made to deliver it; `webhook-id` is the same on all."""

    message_id: str
    event_type: str
    url: str
    payload: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"  # pending | succeeded | failed | aborted

    def summary(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "event_type": self.event_type,
            "url": self.url,
            "state": self.state,
            "payload": self.payload,
            "attempts": [
                {
                    "attempt": a.attempt,
                    "timestamp": a.timestamp,
                    "status_code": a.status_code,
                    "error": a.error,
                }
                for a in self.attempts
            ],
        }


class WebhookSender:
    """Signs and posts webhook messages; `await drain()` waits for every pending delivery."""

    def __init__(
        self,
        *,
        url: str | None = None,
        secret: str | None = None,
        schedule_scale: float = 1.0,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.schedule_scale = schedule_scale
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def configure(self, url: str | None, secret: str | None) -> None:
        """Points deliveries at `url`, signed with `secret` (`whsec_<base64>`); None disables."""
        if url is not None and not secret:
            raise ValueError("a webhook URL needs a whsec_ signing secret")
        if secret is not None:
            Webhook(secret)  # fail now, not in a background task, if it is not base64
        self.url, self.secret = url, secret

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.secret)

    def send(self, event_type: str, resource: dict[str, Any]) -> Delivery | None:
        """Queues `{event_type, <event_type>: resource}`; needs a running event loop."""
        if not (self.url and self.secret):
            return None
        payload = {"event_type": event_type, event_type: resource}
        delivery = Delivery(f"msg_{uuid.uuid4().hex}", event_type, self.url, payload)
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, self.secret))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def drain(self) -> None:
        """Waits until every queued delivery has succeeded or run out of attempts."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def aclose(self) -> None:
        """Abandons pending retries and closes the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, transport=self._transport)
        return self._client

    async def _deliver(self, delivery: Delivery, secret: str) -> None:
        body = json.dumps(delivery.payload, separators=(",", ":"))
        signer = Webhook(secret)
        for number, delay in enumerate(RETRY_SCHEDULE, start=1):
            if delay:
                await asyncio.sleep(delay * self.schedule_scale)
            attempt, abort = await self._attempt(delivery, signer, body, number)
            delivery.attempts.append(attempt)
            logger.info(
                "webhook %s %s attempt %d -> %s",
                delivery.event_type,
                delivery.message_id,
                number,
                attempt.status_code or attempt.error,
            )
            if attempt.ok:
                delivery.state = "succeeded"
                return
            if abort:
                delivery.state = "aborted"
                return
        delivery.state = "failed"

    async def _attempt(
        self, delivery: Delivery, signer: Webhook, body: str, number: int
    ) -> tuple[Attempt, bool]:
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "Svix-Webhooks/1.0 (rensei-simulator)",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(delivery.message_id, now, body),
        }
        try:
            response = await self._http().post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Attempt(number, int(now.timestamp()), None, type(exc).__name__), False
        abort = response.headers.get("webhook-delivery") == "abort-message"
        return Attempt(number, int(now.timestamp()), response.status_code), abort
