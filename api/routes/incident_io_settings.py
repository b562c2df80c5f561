"""incident.io settings of a workspace: the severity mapping and which field is the team."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from activities.errors import IntegrationError
from activities.incident_io import lookup
from activities.incident_io.client import IncidentIoClient
from activities.incident_io.normalize import team_field_choice
from api.auth import require_admin
from api.deps import Services, services, workspace_id

router = APIRouter(
    prefix="/api/integrations/incident-io",
    tags=["integrations"],
    dependencies=[Depends(require_admin)],
)
Svc = Annotated[Services, Depends(services)]
Workspace = Annotated[str, Depends(workspace_id)]


class TeamField(BaseModel):
    """``field``: a custom field's name or id; null goes back to finding it by name."""

    field: str | None = Field(default=None, max_length=200)


async def _client(svc: Services, workspace: str) -> IncidentIoClient | None:
    """A client with the workspace's stored key (the simulator's URL in sandbox mode)."""
    token = await svc.store.get_credential(workspace, "incident_io", "token")
    integration = await svc.store.get_integration(workspace, "incident_io")
    if not token or integration is None:
        return None
    base_url = svc.settings.incident_io_base_url
    if integration.display.get("sandbox") and integration.display.get("simulator_url"):
        base_url = str(integration.display["simulator_url"])
    return IncidentIoClient(svc.http, base_url=base_url, token=token, workspace=workspace)


async def workspace_mapping(svc: Services, workspace: str) -> dict[str, Any]:
    """What the settings card shows: every severity's rensei level beside its own name, and
    the team field in use (or why there is none). Never raises for incident.io failures."""
    found = await svc.store.get_workspace(workspace)
    overrides = dict(found.severity_overrides) if found else {}
    team_field = found.team_field if found else None
    view: dict[str, Any] = {"overrides": overrides, "team_field": team_field}
    client = await _client(svc, workspace)
    if client is None:
        return view | {"problem": "connect incident.io to see its severities and fields"}
    try:
        severities = await client.severities()
        fields = await client.custom_fields()
    except IntegrationError as exc:
        return view | {"problem": f"could not read the workspace from incident.io: {exc}"}
    chosen, problem = team_field_choice([f.model_dump() for f in fields], team_field)
    view["severities"] = [
        {
            "level": level,
            "name": severity.name,
            "id": severity.id,
            "rank": severity.rank,
            "pinned": severity.name in overrides or severity.id in overrides,
        }
        for level, severity in lookup.severity_mapping(severities, overrides)
    ]
    view["team"] = {
        "field": None
        if chosen is None
        else {
            "id": chosen["id"],
            "name": chosen["name"],
            "catalog_backed": chosen.get("catalog_type_id") is not None,
        },
        "problem": problem,
        "fields": [f.name for f in fields],
    }
    return view


@router.get("/mapping")
async def get_mapping(svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """The severity mapping and team field of the workspace, as the settings card shows."""
    return {"workspace": workspace} | await workspace_mapping(svc, workspace)


@router.put("/team-field")
async def put_team_field(body: TeamField, svc: Svc, workspace: Workspace) -> dict[str, Any]:
    """Chooses which custom field holds the team; checked against incident.io when connected."""
    wanted = body.field.strip() if body.field else None
    client = await _client(svc, workspace)
    if wanted and client is not None:
        try:
            fields = await client.custom_fields()
        except IntegrationError as exc:
            raise HTTPException(502, detail=f"could not read incident.io's fields: {exc}") from None
        chosen, problem = team_field_choice([f.model_dump() for f in fields], wanted)
        if chosen is None:
            raise HTTPException(400, detail=problem)
        wanted = str(chosen["id"])  # an id survives the field being renamed
    saved = await svc.store.set_team_field(workspace, wanted or None)
    return {"workspace": workspace, "team_field": saved.team_field}
