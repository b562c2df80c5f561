"""A tiny stand-in for the identity endpoints of incident.io, Slack and Linear."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

GOOD_INCIDENT_IO = "inc_good_0123456789abcd"
GOOD_SLACK = "xoxb-111-222-goodtoken"
NO_SCOPES_SLACK = "xoxb-111-333-noscopesheader"
SLACK_SCOPES = (
    "chat:write,chat:write.public,channels:read,groups:read,channels:history,groups:history,"
    "reactions:write,usergroups:read,users:read"
)
GOOD_LINEAR = "lin_api_good0123456789"


def _bearer(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ")


def provider_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/identity")
    async def identity(request: Request) -> Any:
        token = _bearer(request)
        if token == GOOD_INCIDENT_IO:
            return {
                "identity": {
                    "dashboard_url": "https://app.incident.io/acme",
                    "name": "rensei automation",
                    "roles": ["viewer", "incident_editor"],
                    "team_roles": [],
                    "teams": [],
                }
            }
        if token.startswith("inc_down"):
            return JSONResponse({"type": "api_error", "status": 503}, status_code=503)
        return JSONResponse(
            {
                "type": "authentication_error",
                "status": 401,
                "request_id": "req-1",
                "errors": [
                    {"code": "invalid_api_key", "message": "The API key you provided is invalid"}
                ],
            },
            status_code=401,
        )

    @app.post("/api/auth.test")
    async def auth_test(request: Request) -> Any:
        if _bearer(request) == GOOD_SLACK:
            body = {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "rensei",
                "team_id": "T1",
            }
            return JSONResponse(body, headers={"x-oauth-scopes": SLACK_SCOPES})
        if _bearer(request) == NO_SCOPES_SLACK:
            return {"ok": True, "team": "Acme", "user": "rensei", "team_id": "T1"}
        return {"ok": False, "error": "invalid_auth"}

    @app.post("/graphql")
    async def graphql(request: Request) -> Any:
        if request.headers.get("authorization") == GOOD_LINEAR:
            return {"data": {"viewer": {"id": "u1", "name": "Ada Lovelace"}}}
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "Authentication required, not authenticated",
                        "extensions": {
                            "userPresentableMessage": (
                                "You need to authenticate to access this operation."
                            )
                        },
                    }
                ]
            },
            status_code=401,
        )

    return app
