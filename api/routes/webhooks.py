"""incident.io webhook ingest: verify, then hand the hint to Temporal before answering 2xx.

Authenticated by signature only (Standard Webhooks, the workspace's ``whsec_`` secret, five
minutes of tolerance, several signatures allowed). The answer is 2xx only once Temporal has
durably accepted the hint (signal-with-start of the incident's workflow); when Temporal
cannot be reached the answer is 503, so incident.io delivers again. Nothing is started for a
bad signature, a malformed body or an event type rensei does not handle.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.service import RPCError

from activities.ids import MAX_ID_LENGTH, is_valid_id
from activities.incident_io.models import Incident
from api.deps import Services, services
from api.limits import MAX_WEBHOOK_BODY, MAX_WEBHOOK_ID, BodyError, parse_json, read_body
from contracts.incident import MAX_HINT_INCIDENT, Hint
from contracts.triggers import WEBHOOK_EVENTS
from store import DEFAULT_WORKSPACE
from telemetry import logs
from temporal_client import signal_incident

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/webhooks/ingest", tags=["webhooks"])
Svc = Annotated[Services, Depends(services)]

SECRET_TTL = 30.0
TEMPORAL_DEADLINE = 10.0
"""Seconds a delivery waits for Temporal to accept its hint. Svix gives a delivery about 15;
under an incident storm the dev server took more than 4 s, and a 503 sends the delivery to
the back of Svix's schedule (5 s, then 5 min)."""


EVENT_TYPE = re.compile(r"[a-z0-9_]{1,64}\.[a-z0-9_]{1,64}")
_NOBODYS_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _answer(code: int, **body: Any) -> JSONResponse:
    return JSONResponse(status_code=code, content=body)


class SecretCache:
    """Signing secrets by workspace for a short while: a delivery costs no store read and
    decryption; a failed verification re-reads the store, so a rotated secret works at once."""

    def __init__(self, ttl: float = SECRET_TTL) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, str]] = {}

    async def get(self, svc: Services, workspace: str, *, fresh: bool = False) -> str | None:
        now = time.monotonic()
        cached = self._entries.get(workspace)
        if cached is not None and not fresh and now - cached[0] < self.ttl:
            return cached[1]
        secret = await _secret(svc, workspace)
        if secret is None:
            # Not kept: names of workspaces without a secret must not fill the cache.
            self._entries.pop(workspace, None)
        else:
            self._entries[workspace] = (now, secret)
        return secret


async def _secret(svc: Services, workspace: str) -> str | None:
    stored = await svc.store.get_credential(workspace, "incident_io", "webhook_secret")
    if stored:
        return stored
    configured = svc.settings.incident_io_webhook_secret
    if workspace == DEFAULT_WORKSPACE and configured is not None:
        return configured.get_secret_value()
    return None


def _verify(secret: str, raw: bytes, headers: dict[str, str]) -> str | None:
    """None when the signature holds; otherwise a short reason (never the secret)."""
    missing = [
        h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if h not in headers
    ]
    if missing:
        return f"missing header(s): {', '.join(missing)}"
    try:
        Webhook(secret).verify(raw, headers, json_parse=False)
    except WebhookVerificationError as exc:
        return str(exc) or "invalid signature"
    except (ValueError, binascii.Error):
        return "malformed signature header"
    return None


async def _check_signature(
    cache: SecretCache, svc: Services, workspace: str, raw: bytes, headers: dict[str, str]
) -> JSONResponse | None:
    """None when the delivery carries a valid signature; otherwise the 401 to answer.

    The cached secret is tried first; when there is none or it does not verify, the store
    is read again, so a secret rotated or configured a moment ago is honoured at once. An
    unknown workspace is verified against a secret nobody has, so that its answer is
    exactly a bad signature's: the endpoint does not reveal which workspaces exist.
    """
    secret: str | None = None
    problem: str | None = "no signing secret is configured"
    if is_valid_id(workspace):
        secret = await cache.get(svc, workspace)
        problem = _verify(secret, raw, headers) if secret is not None else problem
        if problem is not None:
            secret = await cache.get(svc, workspace, fresh=True)
    if secret is None or problem is not None:
        problem = _verify(secret or _NOBODYS_SECRET, raw, headers)
    if problem is not None:
        reason = problem if secret is not None else "no signing secret is configured"
        log.warning("incident.io webhook for %.64r refused: %s", workspace, reason)
        return _answer(401, error=f"signature verification failed: {problem}")
    return None


def _envelope(raw: bytes, headers: dict[str, str]) -> tuple[str, str | None]:
    """(event_type, incident id or None for other events) of a verified body, every part
    checked before anything starts: JSON depth, envelope shape, id format, header size."""
    event_type, incident_id, _ = _parsed_envelope(raw, headers)
    return event_type, incident_id


def _parsed_envelope(raw: bytes, headers: dict[str, str]) -> tuple[str, str | None, Any]:
    """``_envelope``'s answer and the parsed body."""
    body = parse_json(raw)
    parsed = incident_id_of(body) if isinstance(body, dict) else None
    if parsed is None or not EVENT_TYPE.fullmatch(parsed[0]):
        raise BodyError(400, "expected an incident.io envelope {event_type, <event_type>: {...}}")
    event_type, incident_id = parsed
    if len(headers["webhook-id"]) > MAX_WEBHOOK_ID:
        raise BodyError(400, f"the webhook-id header is longer than {MAX_WEBHOOK_ID} characters")
    if incident_id == "":
        raise BodyError(400, f"the {event_type} payload has no incident id")
    if incident_id is not None and not is_valid_id(incident_id):
        shown = incident_id[:40] + ("..." if len(incident_id) > 40 else "")
        raise BodyError(
            400,
            f"the incident id {shown!r} is not a valid incident.io id (letters, digits, "
            f"'_' and '-', at most {MAX_ID_LENGTH} characters)",
        )
    return event_type, incident_id, body


def carried_incident(body: Any, event_type: str) -> dict[str, Any] | None:
    """The whole incident a public created/updated/status-updated delivery carries, for the
    hint; None when the event carries none (private incidents carry only their id), when it
    does not read as an incident, or when it is larger than ``MAX_HINT_INCIDENT`` (then it
    is fetched)."""
    event = WEBHOOK_EVENTS.get(event_type)
    if event is None or event.private or not isinstance(body, dict):
        return None
    payload = body.get(event_type)
    incident = event.incident_of(payload) if isinstance(payload, dict) else None
    if not isinstance(incident, dict):
        return None
    try:
        Incident.model_validate(incident)
    except ValidationError:
        return None
    if len(json.dumps(incident, separators=(",", ":"))) > MAX_HINT_INCIDENT:
        return None
    return incident


def incident_id_of(body: dict[str, Any]) -> tuple[str, str | None] | None:
    """(event_type, incident id) of an envelope; None when it is not an envelope."""
    event_type = body.get("event_type")
    if not isinstance(event_type, str):
        return None
    inner = body.get(event_type)
    if not isinstance(inner, dict):
        return None
    event = WEBHOOK_EVENTS.get(event_type)
    if event is None:
        return event_type, None
    incident = event.incident_of(inner)
    ident = incident.get("id") if isinstance(incident, dict) else None
    return event_type, ident if isinstance(ident, str) and ident else ""


@router.post("/incident-io")
async def ingest_default(request: Request, svc: Svc, later: BackgroundTasks) -> JSONResponse:
    """Deliveries for the default workspace."""
    return await ingest(request, svc, DEFAULT_WORKSPACE, later)


@router.post("/incident-io/{workspace}")
async def ingest(
    request: Request, svc: Svc, workspace: str, later: BackgroundTasks
) -> JSONResponse:
    """Deliveries for ``workspace``, signed with that workspace's secret only."""
    try:
        raw = await read_body(request, limit=MAX_WEBHOOK_BODY)
    except BodyError as exc:
        return _answer(exc.status, error=exc.message)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return _answer(400, error="the body is not UTF-8 text")
    headers = {k.lower(): v for k, v in request.headers.items()}
    refused = await _check_signature(
        request.app.state.webhook_secrets, svc, workspace, raw, headers
    )
    if refused is not None:
        return refused
    try:
        event_type, incident_id, body = _parsed_envelope(raw, headers)
    except BodyError as exc:
        return _answer(exc.status, error=exc.message)
    if incident_id is None:
        log.info(
            "incident.io event %s for %s ignored (not an incident event)", event_type, workspace
        )
        return _answer(200, status="ignored", event_type=event_type)
    logs.bind(incident=incident_id)
    hint = Hint(
        source="webhook",
        webhook_id=headers["webhook-id"],
        event_type=event_type,
        received_at=datetime.now(UTC).isoformat(),
        incident=carried_incident(body, event_type),
    )
    try:
        temporal = await asyncio.wait_for(request.app.state.temporal.get(), TEMPORAL_DEADLINE)
        await asyncio.wait_for(
            signal_incident(
                temporal,
                workspace,
                incident_id,
                hint,
                task_queue=svc.settings.task_queue,
                incident_io_task_queue=svc.settings.incident_io_task_queue,
                rpc_timeout=timedelta(seconds=TEMPORAL_DEADLINE),
            ),
            TEMPORAL_DEADLINE,
        )
    except (TimeoutError, RPCError, RuntimeError, OSError) as exc:
        log.error(
            "incident.io webhook for %s not accepted: Temporal unavailable (%s)", workspace, exc
        )
        return JSONResponse(
            status_code=503,
            content={"error": "Temporal is unavailable; the event was not accepted, please retry"},
            headers={"Retry-After": "5"},
        )
    # Informational only, and Temporal has the event already: noted after answering, and
    # coalesced so that a burst of deliveries is one store write per workspace.
    later.add_task(request.app.state.last_events.note, workspace, "incident_io")
    return _answer(200, status="accepted", incident_id=incident_id, event_type=event_type)
