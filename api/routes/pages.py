"""Server-rendered pages: ``/login`` and the settings page ``/settings/integrations``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from activities.definitions import describe as describe_definition
from api.auth import SESSION_COOKIE, SESSION_SECONDS, admin_auth
from api.deps import Services, services, workspace_id
from api.routes.incident_io_settings import workspace_mapping
from api.routes.integrations import PRIMARY_FIELD, describe

router = APIRouter(tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parents[1] / "templates")
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]
SETTINGS_PAGE = "/settings/integrations"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect to another host after login.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return SETTINGS_PAGE


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = SETTINGS_PAGE) -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None}
    )


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = SETTINGS_PAGE,
) -> Response:
    auth = admin_auth(request)
    if not auth.token_matches(token.strip()):
        context = {"next": _safe_next(next), "error": "That is not the admin token."}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        auth.issue_session(),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=auth.secure_cookie,
        path="/",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def temporal_ui_link(svc: Services, name: str) -> str:
    query = quote(f'DefinitionName="{name}"', safe="")
    port = svc.settings.temporal_ui_port
    return f"http://127.0.0.1:{port}/namespaces/{svc.settings.temporal_namespace}/workflows?query={query}"


@router.get(SETTINGS_PAGE, response_class=HTMLResponse)
async def integrations_page(request: Request, svc: Svc, workspace: Workspace) -> Response:
    if not admin_auth(request).is_admin(request):
        return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
    found = {i.kind: i for i in await svc.store.list_integrations(workspace)}
    integrations = {
        kind: await describe(svc, workspace, found.get(kind), kind) for kind in PRIMARY_FIELD
    }
    definitions: list[dict[str, Any]] = [
        {
            "name": d.name,
            "version": d.version,
            "valid": listing.valid,
            "enabled": d.enabled,
            "diagnostics": listing.problem or "",
            "created_at": d.created_at,
            "temporal_url": temporal_ui_link(svc, d.name),
        }
        for d in await svc.store.latest_definitions(workspace)
        for listing in [describe_definition(d)]
    ]
    context = {
        "workspace": workspace,
        "integrations": integrations,
        "incident_io_mapping": await workspace_mapping(svc, workspace),
        "agents": await svc.store.list_agent_cards(workspace),
        "definitions": definitions,
    }
    return templates.TemplateResponse(request, "integrations.html", context)
