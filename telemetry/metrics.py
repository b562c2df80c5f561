"""rensei's own Prometheus metrics (prometheus-client) and the worker's metrics endpoint.

The API and the activities record here, in ordinary Python code. Workflow code never does:
it records through the SDK's replay-safe workflow meter (``workflows/metrics.py``), whose
series the Temporal runtime serves beside its own worker metrics. The worker's endpoint
(``serve_worker_metrics``) answers one scrape with both: these series, then the runtime's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from temporalio import activity

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS_ACCEPTED = Counter(
    "rensei_webhooks_accepted",
    "Webhook deliveries handed to Temporal (answered 2xx)",
    ["source", "event_type"],
    registry=REGISTRY,
)
WEBHOOKS_REJECTED = Counter(
    "rensei_webhooks_rejected",
    "Webhook deliveries refused, by reason (nothing was started for them)",
    ["source", "reason"],
    registry=REGISTRY,
)
WEBHOOKS_IGNORED = Counter(
    "rensei_webhooks_ignored",
    "Verified webhook deliveries of an event type rensei does not act on",
    ["source", "event_type"],
    registry=REGISTRY,
)
INGEST_SECONDS = Histogram(
    "rensei_webhook_ingest_seconds",
    "Time from receiving a webhook delivery to answering it",
    ["source", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
PROVIDER_CALLS = Counter(
    "rensei_provider_calls",
    "HTTP calls to providers, by provider and status class (2xx..5xx, or 'error')",
    ["provider", "status"],
    registry=REGISTRY,
)
PROVIDER_RATE_LIMITED = Counter(
    "rensei_provider_rate_limited",
    "Rate-limited provider answers (HTTP 429, Linear's RATELIMITED)",
    ["provider"],
    registry=REGISTRY,
)
PROVIDER_RETRY_WAIT = Histogram(
    "rensei_provider_retry_wait_seconds",
    "Waits a rate-limited answer asked for (Retry-After, or until the budget resets)",
    ["provider"],
    buckets=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    """This process's series in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# --- provider calls -------------------------------------------------------------------


def provider_of_current_activity() -> str:
    """The provider of the running activity, from its node name (``slack.post`` -> slack)."""
    try:
        name = activity.info().activity_type
    except RuntimeError:  # not inside an activity (a client used elsewhere)
        return "other"
    return name.split(".", 1)[0] if "." in name else name


async def _on_response(response: httpx.Response) -> None:
    PROVIDER_CALLS.labels(provider_of_current_activity(), f"{response.status_code // 100}xx").inc()


def rate_limited(retry_after: float | None) -> None:
    """Counts one rate-limited answer of the current activity's provider and its wait."""
    provider = provider_of_current_activity()
    PROVIDER_RATE_LIMITED.labels(provider).inc()
    if retry_after is not None:
        PROVIDER_RETRY_WAIT.labels(provider).observe(retry_after)


class _CountingTransport(httpx.AsyncBaseTransport):
    """Counts calls that never got an answer (timeouts, refused connections)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.inner.handle_async_request(request)
        except httpx.TransportError:
            PROVIDER_CALLS.labels(provider_of_current_activity(), "error").inc()
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


def provider_client(
    *, transport: httpx.AsyncBaseTransport | None = None, **options: object
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` (same options) that counts every call it makes to a provider."""
    return httpx.AsyncClient(
        transport=_CountingTransport(transport or httpx.AsyncHTTPTransport()),
        event_hooks={"response": [_on_response]},
        **options,  # type: ignore[arg-type]
    )


# --- the worker's endpoint ------------------------------------------------------------

Fetch = Callable[[], Awaitable[bytes]]


def sdk_fetcher(address: str) -> Fetch:
    """Reads the Temporal runtime's Prometheus endpoint (bound on loopback only)."""
    url = f"http://{address}/metrics"

    async def fetch() -> bytes:
        async with httpx.AsyncClient(timeout=5.0) as http:
            response = await http.get(url)
            response.raise_for_status()
            return response.content

    return fetch


async def _answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sdk: Fetch | None
) -> None:
    try:
        request_line = await asyncio.wait_for(reader.readline(), 5.0)
        while (await asyncio.wait_for(reader.readline(), 5.0)) not in (b"\r\n", b"\n", b""):
            pass
        parts = request_line.decode("latin-1").split()
        if len(parts) < 2 or parts[0] != "GET" or parts[1].split("?")[0] != "/metrics":
            status, body, kind = (
                "404 Not Found",
                b"only GET /metrics is served here\n",
                "text/plain",
            )
        else:
            body, kind = exposition()
            status = "200 OK"
            if sdk is not None:
                try:
                    body += await sdk()
                except (httpx.HTTPError, OSError) as exc:
                    # Ours are still served; the gap is visible and said once per scrape.
                    log.warning("Temporal SDK metrics unavailable: %s", exc)
        head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def serve_worker_metrics(host: str, port: int, *, sdk: Fetch | None = None) -> asyncio.Server:
    """Serves ``GET /metrics`` on host:port: rensei's series, then the SDK's."""
    return await asyncio.start_server(lambda r, w: _answer(r, w, sdk), host, port)
