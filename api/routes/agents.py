"""Admin API of agent cards: agent names that ``agent.dispatch`` resolves to base URLs."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from api.auth import require_admin
from api.deps import Services, services, workspace_id
from store import InvalidNameError

router = APIRouter(prefix="/api/agents", tags=["agents"], dependencies=[Depends(require_admin)])
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]


class AgentCardBody(BaseModel):
    url: str = ""


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HTTPException(400, detail=f"{url!r} is not an http(s) URL: give the agent's base URL")
    return url.strip()


@router.get("")
async def list_agents(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    cards = await svc.store.list_agent_cards(workspace)
    return {
        "agents": [
            {"name": c.name, "url": c.url, "updated_at": c.updated_at.isoformat()} for c in cards
        ]
    }


@router.put("/{name}")
async def put_agent(
    name: str, body: AgentCardBody, svc: Svc, workspace: Workspace
) -> dict[str, Any]:
    url = _check_url(body.url)
    try:
        card = await svc.store.put_agent_card(workspace, name, url)
    except InvalidNameError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    return {"name": card.name, "url": card.url}


@router.delete("/{name}")
async def delete_agent(name: str, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    if not await svc.store.delete_agent_card(workspace, name):
        raise HTTPException(404, detail=f"no agent card named {name!r}")
    return {"status": "deleted", "name": name}
