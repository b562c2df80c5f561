"""What the API tells operators: ``GET /metrics``, and per webhook delivery its metrics,
its trace span and the ids its log records carry.

The ingest routes stay as they are; an ASGI middleware watches each delivery's answer
(status, and for a 200 whether it was accepted or ignored), so reasons follow the status
the sender saw: 400/422 ``invalid_body``, 401 ``signature`` (also: no secret configured),
413 ``too_large``, 503 ``temporal_unavailable``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry import logs, metrics, tracing

router = APIRouter(tags=["operations"])
INGEST_PREFIX = "/api/webhooks/ingest/"
REASONS = {400: "invalid_body", 401: "signature", 413: "too_large", 422: "invalid_body"}
REASONS |= {503: "temporal_unavailable"}


@router.get("/metrics", include_in_schema=False)
async def prometheus() -> Response:
    """The API process's series in the Prometheus text format."""
    body, kind = metrics.exposition()
    return Response(content=body, media_type=kind)


def _source_and_workspace(path: str) -> tuple[str, str]:
    parts = path[len(INGEST_PREFIX) :].strip("/").split("/")
    source = parts[0].replace("-", "_") or "unknown"
    return source, parts[1] if len(parts) > 1 else "default"


def record(source: str, status: int, body: bytes, seconds: float) -> str:
    """Counts one answered delivery; returns its outcome (accepted, ignored, rejected)."""
    if status == 200 and b'"status":"ignored"' in body:
        outcome = "ignored"
        metrics.WEBHOOKS_IGNORED.labels(source, _event_type(body)).inc()
    elif 200 <= status < 300:
        outcome = "accepted"
        metrics.WEBHOOKS_ACCEPTED.labels(source, _event_type(body)).inc()
    else:
        outcome = "rejected"
        reason = REASONS.get(status, f"http_{status}")
        metrics.WEBHOOKS_REJECTED.labels(source, reason).inc()
    metrics.INGEST_SECONDS.labels(source, outcome).observe(seconds)
    return outcome


def _event_type(body: bytes) -> str:
    import json

    try:
        value = json.loads(body).get("event_type")
    except (ValueError, AttributeError):
        return "unknown"
    return value if isinstance(value, str) and len(value) <= 100 else "unknown"


class WebhookObserver:
    """ASGI middleware: metrics, a span and log ids for each delivery to the ingest routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(INGEST_PREFIX) or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        source, workspace = _source_and_workspace(path)
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "body": b""}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")[:4096]
            await send(message)

        with (
            tracing.tracer().start_as_current_span(f"webhook {source}") as span,
            logs.bound(workspace=workspace),
        ):
            span.set_attribute("rensei.workspace", workspace)
            try:
                await self.app(scope, receive, watch)
            finally:
                seconds = time.perf_counter() - started
                outcome = record(source, answer["status"], answer["body"], seconds)
                span.set_attribute("rensei.webhook.outcome", outcome)
                span.set_attribute("http.response.status_code", answer["status"])
