"""Admin API of the ``http.request`` node: the host allowlist and the secrets headers refer to."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from activities.http import SECRETS
from api.auth import require_admin
from api.deps import Services, services, workspace_id
from store import InvalidNameError

router = APIRouter(prefix="/api/http", tags=["http"], dependencies=[Depends(require_admin)])
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]
SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AllowlistBody(BaseModel):
    hosts: list[str] = Field(max_length=200)


class SecretBody(BaseModel):
    value: str = Field(min_length=1, max_length=8192)


@router.get("/allowlist")
async def get_allowlist(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    return {"workspace": workspace, "hosts": await svc.store.http_hosts(workspace)}


@router.put("/allowlist")
async def put_allowlist(body: AllowlistBody, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Replaces the allowlist: ``http.request`` may call these hosts and no others."""
    try:
        hosts = await svc.store.set_http_hosts(workspace, body.hosts)
    except InvalidNameError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    return {"workspace": workspace, "hosts": hosts}


@router.get("/secrets")
async def list_secrets(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """The names of the stored secrets (never their values)."""
    return {"secrets": await svc.store.credential_fields(workspace, SECRETS)}


@router.put("/secrets/{name}")
async def put_secret(name: str, body: SecretBody, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Stores a secret (encrypted) for headers written ``{secretRef: <name>}``."""
    if not SECRET_NAME.match(name):
        raise HTTPException(
            400, detail=f"secret name {name!r} is not valid (letters, digits, '-', '_' or '.')"
        )
    await svc.store.put_credential(workspace, SECRETS, name, body.value)
    return {"name": name, "status": "stored"}


@router.delete("/secrets/{name}")
async def delete_secret(name: str, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    if not await svc.store.delete_credential(workspace, SECRETS, name):
        raise HTTPException(404, detail=f"no HTTP secret named {name!r}")
    return {"name": name, "status": "deleted"}
