"""Admin API of workflow definitions: register a YAML definition, list them with versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from api.auth import require_admin
from api.deps import Services, services, workspace_id
from api.limits import MAX_DEFINITION_BODY, BodyError, read_body
from interpreter.errors import DefinitionError
from store import InvalidNameError

router = APIRouter(
    prefix="/api/workflows", tags=["workflows"], dependencies=[Depends(require_admin)]
)
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]


@router.get("")
async def list_workflows(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Every definition of the workspace: newest version, enabled, valid."""
    found = await svc.store.latest_definitions(workspace)
    return {
        "workspace": workspace,
        "workflows": [
            {
                "name": d.name,
                "version": d.version,
                "enabled": d.enabled,
                "status": "valid" if d.valid else "invalid",
                "created_at": d.created_at.isoformat(),
            }
            for d in found
        ],
    }


@router.get("/{name}")
async def get_workflow(name: str, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    found = await svc.store.get_definition(workspace, name)
    if found is None:
        raise HTTPException(404, detail=f"no definition named '{name}' in workspace '{workspace}'")
    return {
        "name": found.name,
        "version": found.version,
        "enabled": found.enabled,
        "yaml": found.yaml,
    }


@router.put("/{name}")
async def put_workflow(name: str, request: Request, svc: Svc, workspace: Workspace) -> JSONResponse:
    """Validates the YAML body and stores it as the next version (nothing is stored if invalid)."""
    try:
        raw = await read_body(request, limit=MAX_DEFINITION_BODY)
    except BodyError as exc:
        return JSONResponse(status_code=exc.status, content={"error": exc.message})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return JSONResponse(status_code=400, content={"error": "the body is not UTF-8 text"})
    try:
        version = await svc.store.put_definition(workspace, name, text)
    except InvalidNameError as exc:
        return JSONResponse(status_code=400, content={"error": str(exc)})
    except DefinitionError as exc:
        return JSONResponse(
            status_code=400,
            content={
                "error": f"the definition has {len(exc.diagnostics)} problem(s)",
                "diagnostics": [d.render() for d in exc.diagnostics],
            },
        )
    return JSONResponse(
        status_code=200, content={"name": name, "version": version, "status": "stored"}
    )
