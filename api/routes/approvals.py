"""Approval decisions: Slack button clicks (signed by Slack) and operators (admin auth)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from slack_sdk.signature import SignatureVerifier
from temporalio.client import Client
from temporalio.service import RPCError

import temporal_client
from api.auth import require_admin
from api.deps import Services, services, workspace_id
from api.limits import MAX_SLACK_BODY, BodyError, read_body
from contracts.messages import DecideInput, DecideResult, PendingApproval, parse_button_value
from stack.references import IncidentReferenceError, as_reference, run_waiting_for_approval
from temporal_client import DecisionRefusedError, WorkflowNotFoundError

log = logging.getLogger(__name__)

router = APIRouter(tags=["approvals"])
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]

# Slack wants an answer within 3 s; what the run has not accepted by then is still applied.
SLACK_ACCEPT_SECONDS = 2.0
ACTIONS = {"approve": "approved", "reject": "rejected"}


class ApprovalRequest(BaseModel):
    """``POST /api/approvals/{workflow_id}/{step_id}``: an operator's decision."""

    decision: Literal["approved", "rejected"]
    reason: str | None = None
    by: str | None = Field(default=None, description="operator name shown in Slack; 'admin'")


async def temporal(request: Request) -> Client:
    client: Client = await request.app.state.temporal.get()
    return client


@router.post("/api/approvals/{workflow_id}/{step_id}", dependencies=[Depends(require_admin)])
async def decide(
    workflow_id: str,
    step_id: str,
    body: ApprovalRequest,
    request: Request,
    workspace: Workspace,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> DecideResult:
    """Approves or rejects a waiting step: 409 with the run's reason when it refuses.

    ``workflow_id`` may be an incident reference (``INC-42``): the run of that incident
    whose step ``step_id`` waits.
    """
    client = await temporal(request)
    workflow_id = await _run_named(client, workspace, workflow_id, step_id)
    params = DecideInput(
        step_id=step_id,
        decision=body.decision,
        by=body.by or "admin",
        reason=body.reason,
        source="api",
    )
    try:
        return await temporal_client.decide(client, workflow_id, params, update_id=idempotency_key)
    except DecisionRefusedError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except WorkflowNotFoundError as exc:
        raise HTTPException(404, detail=str(exc)) from None


async def _run_named(client: Client, workspace: str, name: str, step_id: str) -> str:
    reference = as_reference(name)
    if reference is None:
        return name
    try:
        return await run_waiting_for_approval(client, workspace, reference, step_id)
    except IncidentReferenceError as exc:
        raise HTTPException(404, detail=str(exc)) from None


@router.get("/api/approvals/{workflow_id}", dependencies=[Depends(require_admin)])
async def list_approvals(workflow_id: str, request: Request) -> list[PendingApproval]:
    """The approval steps of a run: waiting, decided or timed out."""
    try:
        return await temporal_client.approvals(await temporal(request), workflow_id)
    except WorkflowNotFoundError:
        raise HTTPException(404, detail=f"no workflow '{workflow_id}'") from None


@router.post("/api/webhooks/slack/interactions")
async def slack_interactions(request: Request, svc: Svc, workspace: Workspace) -> JSONResponse:
    """Slack's Interactivity Request URL: verifies the signature, then forwards the click."""
    try:
        body = await read_body(request, limit=MAX_SLACK_BODY)
    except BodyError as exc:
        raise HTTPException(exc.status, detail=exc.message) from None
    secret = await _signing_secret(svc, workspace)
    if secret is None:
        log.warning("slack interaction for workspace %s, but no signing secret is set", workspace)
        raise HTTPException(401, detail="Slack is not connected: no signing secret is configured")
    verifier = SignatureVerifier(secret)
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    if not timestamp.isdigit() or not verifier.is_valid(
        body, timestamp, request.headers.get("x-slack-signature", "")
    ):
        raise HTTPException(401, detail="invalid or stale Slack signature")
    payload = _payload(body)
    actions = payload.get("actions") or [{}]
    action = actions[0] if isinstance(actions[0], dict) else {}
    decision = ACTIONS.get(str(action.get("action_id")))
    target = parse_button_value(str(action.get("value") or ""))
    user = str((payload.get("user") or {}).get("id") or "")
    if payload.get("type") != "block_actions" or decision is None or target is None or not user:
        return JSONResponse({})  # not one of our buttons: acknowledge and ignore
    workflow_id, run_id, step_id = target
    params = DecideInput(step_id=step_id, decision=decision, by=user, source="slack")
    update_id = f"slack-{payload.get('trigger_id') or action.get('action_ts')}"
    text = await _forward(await temporal(request), workflow_id, run_id, params, update_id)
    if text is None:
        return JSONResponse({})
    return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": text})


async def _signing_secret(svc: Services, workspace: str) -> str | None:
    stored = await svc.store.get_credential(workspace, "slack", "signing_secret")
    if stored:
        return stored
    fallback = svc.settings.slack_signing_secret
    return fallback.get_secret_value() if fallback is not None else None


def _payload(body: bytes) -> dict[str, Any]:
    try:
        raw = parse_qs(body.decode("utf-8")).get("payload", [""])[0]
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HTTPException(
            400, detail="expected a form body with a JSON 'payload' field"
        ) from None
    if not isinstance(payload, dict):
        raise HTTPException(400, detail="the 'payload' field must be a JSON object")
    return payload


async def _forward(
    client: Client, workflow_id: str, run_id: str, params: DecideInput, update_id: str
) -> str | None:
    """Sends the ``decide`` update; returns what to tell the clicker, None when accepted."""
    decided = temporal_client.decide(
        client, workflow_id, params, run_id=run_id, update_id=update_id
    )
    try:
        await asyncio.wait_for(decided, timeout=SLACK_ACCEPT_SECONDS)
    except DecisionRefusedError as exc:
        return str(exc)
    except TimeoutError:
        log.warning("decision on %s/%s not accepted within 2s", workflow_id, params.step_id)
        return "Your decision was received; the run will apply it shortly."
    except WorkflowNotFoundError:
        return "This approval is closed: its run has ended."
    except RPCError as exc:
        log.warning("forwarding a Slack decision to %s failed: %s", workflow_id, exc)
        return "rensei could not record your decision right now; please click again."
    return None
