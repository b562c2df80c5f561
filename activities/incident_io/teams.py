"""Teams as incident.io models them: a custom field, usually backed by a catalog type."""

from __future__ import annotations

from activities.errors import InvalidRequestError
from activities.incident_io import lookup
from activities.incident_io.client import IncidentIoClient
from activities.incident_io.models import CatalogEntry, CustomField
from activities.incident_io.normalize import team_field_choice


async def team_field(client: IncidentIoClient, preference: str | None) -> CustomField:
    """The workspace's team field: the one set in its preferences, else the only custom
    field with "team" in its name.

    Raises:
        InvalidRequestError: no field, or several and none chosen; the message says which.
    """
    fields = await client.custom_fields()
    chosen, problem = team_field_choice([f.model_dump() for f in fields], preference)
    if chosen is None:
        raise InvalidRequestError(f"cannot filter by team: {problem}")
    return next(f for f in fields if f.id == chosen["id"])


async def team_filter(
    client: IncidentIoClient, team: str, preference: str | None
) -> dict[str, list[str]]:
    """``{field id: [value id]}`` for ``custom_field[<id>][one_of]`` of ``GET /v2/incidents``.

    A catalog-backed field is filtered by catalog entry id (looked up by name, id, external
    id or alias); an option field by option id.
    """
    field = await team_field(client, preference)
    if field.catalog_type_id is not None:
        entries = await client.catalog_entries(field.catalog_type_id)
        return {field.id: [_entry_named(team, entries, field=field.name).id]}
    options = await client.custom_field_options(field.id)
    return {field.id: [lookup.option_named(team, options, field=field.name).id]}


def _entry_named(value: str, entries: list[CatalogEntry], *, field: str) -> CatalogEntry:
    wanted = value.strip().casefold()
    for entry in entries:
        names = (entry.name, entry.id, entry.external_id or "", *entry.aliases)
        if wanted in (n.casefold() for n in names):
            return entry
    raise InvalidRequestError(
        f"unknown {field} '{value}': use one of {', '.join(e.name for e in entries)}"
    )
