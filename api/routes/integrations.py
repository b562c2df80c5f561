"""Admin API of the integrations: connect, inspect (masked) and disconnect providers."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from activities.incident_io.normalize import canonical_level
from activities.slack.scopes import OPTIONAL_SCOPES, REQUIRED_SCOPES
from api.auth import require_admin
from api.deps import Services, services, workspace_id
from api.identity import (
    Identity,
    IdentityError,
    incident_io_identity,
    linear_identity,
    slack_identity,
)
from store import CredentialDecryptError, Integration, mask

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/api/integrations", tags=["integrations"], dependencies=[Depends(require_admin)]
)
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]

# The credential field that identifies each integration, shown masked.
PRIMARY_FIELD = {"incident_io": "token", "slack": "bot_token", "linear": "api_key"}
SECRET_FIELDS = {"incident_io": ("webhook_secret",), "slack": ("signing_secret",), "linear": ()}


class IncidentIoConnect(BaseModel):
    token: str = ""


class WebhookSecret(BaseModel):
    secret: str = ""


class SlackConnect(BaseModel):
    bot_token: str = ""
    signing_secret: str = ""


class LinearConnect(BaseModel):
    api_key: str = ""


def webhook_url(svc: Services, workspace: str) -> str:
    return f"{svc.settings.public_url.rstrip('/')}/api/webhooks/ingest/incident-io/{workspace}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _bad_request(message: str) -> HTTPException:
    return HTTPException(400, detail=message)


async def _identify(check: Any, *args: Any) -> Identity:
    try:
        identity: Identity = await check(*args)
    except IdentityError as exc:
        raise HTTPException(exc.status_code, detail=exc.message) from None
    return identity


async def describe(
    svc: Services, workspace: str, integration: Integration | None, kind: str
) -> dict[str, Any]:
    """The masked view of one integration: never a token, only its prefix and last 4."""
    if integration is None:
        view: dict[str, Any] = {"status": "disconnected"}
        if kind == "incident_io":
            view["webhook_url"] = webhook_url(svc, workspace)
        if kind == "slack":
            view |= _slack_scopes()
        return view
    view = {
        "status": integration.status,
        "connected_as": integration.display.get("name"),
        "roles": integration.display.get("roles", []),
        "details": integration.display.get("details", {}),
        "connected_at": _iso(integration.connected_at),
        "last_event_at": _iso(integration.last_event_at),
        "sandbox": bool(integration.display.get("sandbox")),
        "simulator_url": integration.display.get("simulator_url"),
    }
    try:
        primary = await svc.store.get_credential(workspace, kind, PRIMARY_FIELD[kind])
        view[PRIMARY_FIELD[kind]] = mask(primary) if primary else None
        for field in SECRET_FIELDS[kind]:
            secret = await svc.store.get_credential(workspace, kind, field)
            view[field] = mask(secret) if secret else None
    except CredentialDecryptError as exc:
        view["status"] = "error"
        view["error"] = str(exc)
    if kind == "slack":
        view |= _slack_scopes()
    if kind == "incident_io":
        view["webhook_url"] = webhook_url(svc, workspace)
        view["sync"] = {
            "cursor": integration.sync_cursor,
            "last_event_at": _iso(integration.last_event_at),
        }
    return view


def _slack_scopes() -> dict[str, list[str]]:
    """The bot scopes to grant, for the settings card and the API listing."""
    return {"required_scopes": list(REQUIRED_SCOPES), "optional_scopes": list(OPTIONAL_SCOPES)}


def _missing_slack_scopes(granted: list[str] | None) -> str | None:
    """Why the token cannot serve every Slack node, or None when it has every scope needed."""
    if granted is None:
        return (
            "Slack did not report the bot token's scopes (no x-oauth-scopes header on "
            "auth.test); is the Slack URL right?"
        )
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    if not missing:
        return None
    return (
        f"the Slack bot token lacks scope(s) rensei's Slack nodes need: {', '.join(missing)}. "
        "Add them in the Slack app under OAuth & Permissions -> Bot Token Scopes, reinstall "
        "the app to the workspace, then paste the new bot token"
    )


@router.get("")
async def list_integrations(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Every integration of the workspace, masked."""
    found = {i.kind: i for i in await svc.store.list_integrations(workspace)}
    return {
        "workspace": workspace,
        "integrations": {
            kind: await describe(svc, workspace, found.get(kind), kind) for kind in PRIMARY_FIELD
        },
    }


@router.post("/incident-io")
async def connect_incident_io(
    body: IncidentIoConnect, svc: Svc, workspace: Workspace
) -> dict[str, Any]:
    """Validates the key with ``GET /v1/identity``, stores it encrypted, starts the sync."""
    token = body.token.strip()
    if not token.startswith("inc_") or len(token) < 8 or any(c.isspace() for c in token):
        raise _bad_request(
            "this is not an incident.io API key: keys start with 'inc_' "
            "(create one in incident.io under Settings -> API keys)"
        )
    identity = await _identify(
        incident_io_identity, svc.http, svc.settings.incident_io_base_url, token
    )
    previous = await svc.store.get_integration(workspace, "incident_io")
    if previous is not None and previous.display.get("sandbox"):
        # The stored secret signed the simulator's webhooks: it must not accept any more.
        await svc.store.delete_credential(workspace, "incident_io", "webhook_secret")
        log.info(
            "sandbox mode off for workspace %s: a real incident.io key is connected", workspace
        )
    await svc.store.put_credential(workspace, "incident_io", "token", token)
    integration = await svc.store.upsert_integration(
        workspace,
        "incident_io",
        display={
            "name": identity.name,
            "roles": identity.roles,
            "details": identity.details,
            "sandbox": False,
        },
    )
    log.info("incident.io connected for workspace %s as %r", workspace, identity.name)
    sync: dict[str, Any] = {
        "cursor": integration.sync_cursor,
        "last_event_at": _iso(integration.last_event_at),
        "sandbox": bool(integration.display.get("sandbox")),
        "simulator_url": integration.display.get("simulator_url"),
    }
    try:
        started = await svc.on_connect(workspace)
        sync |= dict(started) if started else {"status": "pending"}
    except Exception as exc:  # the key is stored; the failure is reported
        log.exception("the incident.io sync of workspace %s did not start", workspace)
        sync |= {"status": "failed", "error": f"the sync did not start: {exc}"}
    return {
        "status": "connected",
        "connected_as": identity.name,
        "roles": identity.roles,
        "token": mask(token),
        "webhook_url": webhook_url(svc, workspace),
        "sync": sync,
    }


@router.put("/incident-io/webhook-secret")
async def put_webhook_secret(body: WebhookSecret, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Stores the signing secret of incident.io's webhooks (optional push delivery)."""
    secret = body.secret.strip()
    if not secret.startswith("whsec_") or len(secret) <= len("whsec_"):
        raise _bad_request(
            "this is not a webhook signing secret: it starts with 'whsec_' "
            "(incident.io shows it when you create the webhook endpoint)"
        )
    await svc.store.put_credential(workspace, "incident_io", "webhook_secret", secret)
    return {
        "status": "saved",
        "webhook_secret": mask(secret),
        "webhook_url": webhook_url(svc, workspace),
    }


class SeverityOverrides(BaseModel):
    overrides: dict[str, str] = {}


@router.put("/incident-io/severity-overrides")
async def put_severity_overrides(
    body: SeverityOverrides, svc: Svc, workspace: Workspace
) -> dict[str, Any]:
    """Pins workspace severities (by name or id) to rensei levels instead of by rank."""
    wrong = {k: v for k, v in body.overrides.items() if canonical_level(v) is None}
    if wrong:
        raise _bad_request(
            "each severity maps onto a level written SEV-1, SEV-2, ... (SEV-1 most severe); not "
            + ", ".join(f"{k!r}: {v!r}" for k, v in sorted(wrong.items()))
        )
    overrides = {k: str(canonical_level(v)) for k, v in body.overrides.items()}
    levels = list(overrides.values())
    twice = sorted({v for v in levels if levels.count(v) > 1})
    if twice:
        raise _bad_request(
            "two severities cannot share a level: " + ", ".join(twice) + " is given twice"
        )
    saved = await svc.store.set_severity_overrides(workspace, overrides)
    return {"workspace": workspace, "overrides": saved.severity_overrides}


@router.delete("/incident-io")
async def disconnect_incident_io(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Stops the sync (hook), then forgets the integration and its credentials."""
    await svc.on_disconnect(workspace)
    await svc.store.delete_integration(workspace, "incident_io")
    return {"status": "disconnected"}


@router.post("/slack")
async def connect_slack(body: SlackConnect, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Validates the bot token with ``auth.test`` (and its scopes), stores it with the secret."""
    bot_token, signing_secret = body.bot_token.strip(), body.signing_secret.strip()
    if not bot_token.startswith("xoxb-"):
        raise _bad_request("this is not a Slack bot token: bot tokens start with 'xoxb-'")
    if len(signing_secret) < 16 or any(c.isspace() for c in signing_secret):
        raise _bad_request(
            "paste the Slack app's signing secret (Basic Information -> App Credentials)"
        )
    identity = await _identify(slack_identity, svc.http, svc.settings.slack_base_url, bot_token)
    problem = _missing_slack_scopes(identity.details.get("scopes"))
    if problem is not None:
        raise _bad_request(problem)
    await svc.store.put_credential(workspace, "slack", "bot_token", bot_token)
    await svc.store.put_credential(workspace, "slack", "signing_secret", signing_secret)
    await svc.store.upsert_integration(
        workspace, "slack", display={"name": identity.name, "details": identity.details}
    )
    return {
        "status": "connected",
        "connected_as": identity.name,
        "team": identity.details.get("team"),
        "bot_token": mask(bot_token),
        "signing_secret": mask(signing_secret),
    }


@router.delete("/slack")
async def disconnect_slack(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    await svc.store.delete_integration(workspace, "slack")
    return {"status": "disconnected"}


@router.post("/linear")
async def connect_linear(body: LinearConnect, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Validates the key with ``{ viewer { id name } }`` and stores it."""
    api_key = body.api_key.strip()
    if not api_key.startswith("lin_api_"):
        raise _bad_request("this is not a Linear API key: personal keys start with 'lin_api_'")
    identity = await _identify(linear_identity, svc.http, svc.settings.linear_base_url, api_key)
    await svc.store.put_credential(workspace, "linear", "api_key", api_key)
    await svc.store.upsert_integration(
        workspace, "linear", display={"name": identity.name, "details": identity.details}
    )
    return {"status": "connected", "connected_as": identity.name, "api_key": mask(api_key)}


@router.delete("/linear")
async def disconnect_linear(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    await svc.store.delete_integration(workspace, "linear")
    return {"status": "disconnected"}
