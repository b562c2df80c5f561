"""Bearer-token authentication, per-key rate limits and per-route scopes (a FastAPI dependency)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from simulators.incident_io.errors import ApiError, forbidden_scope
from simulators.incident_io.seed import ApiKey
from simulators.incident_io.state import SimulatorState

# Scopes per operation: x-rbac-scopes of the spec where it lists any. `incidents.edit` is
# ours, for endpoints the spec lists without a scope (edit) or that are newer than it.
SCOPES: dict[tuple[str, str], str | None] = {
    ("GET", "/v1/identity"): None,
    ("GET", "/v2/incidents"): "incidents.view",
    ("POST", "/v2/incidents"): "incidents.create",
    ("GET", "/v2/incidents/{id}"): "incidents.view",
    ("POST", "/v2/incidents/{id}/actions/edit"): "incidents.edit",
    ("GET", "/v1/severities"): "severities.view",
    ("GET", "/v1/incident_statuses"): "incident_statuses.view",
    ("GET", "/v1/incident_types"): "incident_types.view",
    ("GET", "/v2/custom_fields"): "custom_fields.view",
    ("GET", "/v2/incident_roles"): "incident_roles.view",
    ("GET", "/v1/custom_field_options"): "custom_fields.view",
    ("GET", "/v3/catalog_entries"): "catalog_entries.view",
    ("GET", "/v2/escalation_paths"): "escalation_paths.view",
    ("GET", "/v2/users"): "users.view",
    ("GET", "/v2/incident_updates"): "incidents.view",
    ("POST", "/v2/incident_updates"): "incidents.edit",
    ("GET", "/v2/incident_timeline_items"): "incidents.view",
    ("POST", "/v2/incident_timeline_items"): "incidents.edit",
    ("GET", "/v2/escalations"): "escalations.view",
    ("POST", "/v2/escalations"): "escalations.create",
    ("GET", "/v2/escalations/{id}"): "escalations.view",
    ("POST", "/v2/escalations/{id}/actions/respond"): "escalations.create",
}


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def state_of(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.sim
    return state


async def authenticate(request: Request) -> ApiKey:
    """Checks the bearer token, the key's rate limits and the route's scope, in that order."""
    state = state_of(request)
    token = bearer(request)
    if token is None:
        raise ApiError(
            401,
            "missing_authorization_material",
            "No authorization material provided in request",
        )
    key = state.key_for_token(token)
    if key is None:
        raise ApiError(401, "invalid_authorization_material", "The API key provided is not valid")
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    limits = {"default": state.config.rate_limit_per_minute}
    if (request.method, template) == ("POST", "/v2/escalations"):
        limits["escalations.create"] = state.config.escalation_rate_limit_per_minute
    decision = state.limiter.check(key.id, key.name, limits)
    request.state.rate_headers = decision.headers
    if not decision.allowed:
        raise ApiError(
            429,
            "too_many_requests",
            "Too many requests hit the API too quickly. "
            "We recommend an exponential backoff of your requests.",
            headers=decision.headers,
            extra={
                "rate_limit": {
                    "name": decision.name,
                    "limit": decision.limit,
                    "remaining": decision.remaining,
                    "retry_after": _in_seconds(decision.retry_after),
                }
            },
        )
    scope = SCOPES.get((request.method, template))
    if scope is not None and scope not in key.scopes:
        raise forbidden_scope(scope)
    return key


def _in_seconds(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


Key = Annotated[ApiKey, Depends(authenticate)]
