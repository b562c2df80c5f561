"""Admin API of workflow definitions: store, list, enable, disable and delete them by name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from activities.definitions import describe, store_definition
from api.auth import require_admin
from api.deps import Services, services, workspace_id
from api.limits import MAX_DEFINITION_BODY, BodyError, read_body
from interpreter.definitions import DefinitionNameError
from interpreter.errors import DefinitionError
from store import InvalidNameError

router = APIRouter(
    prefix="/api/workflows", tags=["workflows"], dependencies=[Depends(require_admin)]
)
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]


@router.get("")
async def list_workflows(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Every definition of the workspace: newest version, whether it can run, and why not."""
    found = await svc.store.latest_definitions(workspace)
    return {"workspace": workspace, "workflows": [describe(d).to_json() for d in found]}


@router.get("/{name}")
async def get_workflow(name: str, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    found = await svc.store.get_definition(workspace, name)
    if found is None:
        raise HTTPException(404, detail=_missing(name, workspace))
    return describe(found).to_json() | {"yaml": found.yaml}


@router.delete("/{name}")
async def delete_workflow(name: str, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Deletes every version; runs already started finish on the plan they pinned."""
    deleted = await svc.store.delete_definition(workspace, name)
    if not deleted:
        raise HTTPException(404, detail=_missing(name, workspace))
    return {"name": name, "deleted_versions": deleted, "status": "deleted"}


@router.post("/{name}/enable")
async def enable_workflow(name: str, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    return await _set_enabled(svc, workspace, name, enabled=True)


@router.post("/{name}/disable")
async def disable_workflow(name: str, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    return await _set_enabled(svc, workspace, name, enabled=False)


async def _set_enabled(
    svc: Services, workspace: str, name: str, *, enabled: bool
) -> dict[str, Any]:
    if not await svc.store.set_definition_enabled(workspace, name, enabled):
        raise HTTPException(404, detail=_missing(name, workspace))
    found = await svc.store.get_definition(workspace, name)
    if found is None:  # deleted in between
        raise HTTPException(404, detail=_missing(name, workspace))
    return describe(found).to_json()


def _missing(name: str, workspace: str) -> str:
    return f"no definition named '{name}' in workspace '{workspace}'"


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
        version = await store_definition(svc.store, workspace, name, text)
    except DefinitionNameError as exc:
        return JSONResponse(status_code=400, content={"error": f"PUT /api/workflows/{name}: {exc}"})
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
