"""Connect-time identity checks against incident.io, Slack and Linear.

Each check translates the provider's answer once, here, into either an identity or an
``IdentityError`` whose message is shown to the user as it is: ``InvalidCredentialError``
(the provider said no: HTTP 400) or ``ProviderUnreachableError`` (HTTP 502).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_HINT = "try again in a minute"


class IdentityError(Exception):
    """A credential could not be validated; ``status_code`` is what the API answers."""

    status_code = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidCredentialError(IdentityError):
    """The provider rejected the credential."""

    status_code = 400


class ProviderUnreachableError(IdentityError):
    """The provider did not answer usefully (network, timeout, 5xx, rate limit)."""

    status_code = 502


@dataclass(frozen=True)
class Identity:
    """Who a credential acts as, for the settings card."""

    name: str
    roles: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


async def _send(http: httpx.AsyncClient, provider: str, request: httpx.Request) -> httpx.Response:
    try:
        response = await http.send(request)
    except httpx.TimeoutException:
        raise ProviderUnreachableError(
            f"{provider} could not be reached: timed out; {RETRY_HINT}"
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise ProviderUnreachableError(
            f"{provider} could not be reached: {reason}; {RETRY_HINT}"
        ) from None
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise ProviderUnreachableError(
            f"{provider} could not be reached: it answered HTTP {response.status_code}; "
            + RETRY_HINT
        )
    return response


def _json(response: httpx.Response, provider: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderUnreachableError(
            f"{provider} could not be reached: HTTP {response.status_code} without a JSON body; "
            + RETRY_HINT
        ) from None


def _incident_io_message(body: Any) -> str | None:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
            if isinstance(message, str) and message:
                return message
    return None


async def incident_io_identity(http: httpx.AsyncClient, base_url: str, token: str) -> Identity:
    """``GET /v1/identity``: the key's name and roles."""
    request = http.build_request(
        "GET", f"{base_url.rstrip('/')}/v1/identity", headers={"Authorization": f"Bearer {token}"}
    )
    response = await _send(http, "incident.io", request)
    body = _json(response, "incident.io")
    if response.status_code >= 400:
        message = _incident_io_message(body) or f"HTTP {response.status_code}"
        raise InvalidCredentialError(f"incident.io rejected the API key: {message}")
    identity = body.get("identity") if isinstance(body, dict) else None
    if not isinstance(identity, dict) or not isinstance(identity.get("name"), str):
        raise ProviderUnreachableError(
            "incident.io could not be reached: /v1/identity answered without an identity; "
            + RETRY_HINT
        )
    return Identity(
        name=identity["name"],
        roles=[str(r) for r in identity.get("roles") or []],
        details={"dashboard_url": identity.get("dashboard_url")},
    )


async def slack_identity(http: httpx.AsyncClient, base_url: str, bot_token: str) -> Identity:
    """``POST /api/auth.test``: the bot user and its workspace."""
    request = http.build_request(
        "POST",
        f"{base_url.rstrip('/')}/api/auth.test",
        headers={"Authorization": f"Bearer {bot_token}"},
    )
    response = await _send(http, "Slack", request)
    body = _json(response, "Slack")
    if not isinstance(body, dict) or not body.get("ok"):
        error = body.get("error") if isinstance(body, dict) else None
        raise InvalidCredentialError(
            f"Slack rejected the bot token: {error or f'HTTP {response.status_code}'}"
        )
    # Slack reports the token's granted scopes in this header of every call (auth.test too).
    raw_scopes = response.headers.get("x-oauth-scopes")
    scopes = None if raw_scopes is None else [s.strip() for s in raw_scopes.split(",") if s.strip()]
    return Identity(
        name=str(body.get("user") or body.get("user_id") or "bot"),
        details={
            "team": body.get("team"),
            "team_id": body.get("team_id"),
            "url": body.get("url"),
            "scopes": scopes,
        },
    )


async def linear_identity(http: httpx.AsyncClient, base_url: str, api_key: str) -> Identity:
    """GraphQL ``{ viewer { id name } }``; Linear takes a personal key without ``Bearer``."""
    request = http.build_request(
        "POST",
        f"{base_url.rstrip('/')}/graphql",
        headers={"Authorization": api_key, "Content-Type": "application/json"},
        json={"query": "{ viewer { id name } }"},
    )
    response = await _send(http, "Linear", request)
    body = _json(response, "Linear")
    errors = body.get("errors") if isinstance(body, dict) else None
    if response.status_code >= 400 or errors:
        message = f"HTTP {response.status_code}"
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            extensions = errors[0].get("extensions") or {}
            message = str(
                extensions.get("userPresentableMessage") or errors[0].get("message") or message
            )
        raise InvalidCredentialError(f"Linear rejected the API key: {message}")
    viewer = (body.get("data") or {}).get("viewer") if isinstance(body, dict) else None
    if not isinstance(viewer, dict):
        raise ProviderUnreachableError(
            f"Linear could not be reached: no viewer in the answer; {RETRY_HINT}"
        )
    return Identity(
        name=str(viewer.get("name") or viewer.get("id")), details={"viewer_id": viewer.get("id")}
    )
