"""The public API routes the simulator serves, with the spec's paths and status codes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from simulators.incident_io import escalations, incidents
from simulators.incident_io.auth import Key, state_of
from simulators.incident_io.errors import invalid, not_found, required
from simulators.incident_io.payloads import (
    CreateEscalationPayload,
    CreateIncidentPayload,
    CreateTimelineItemPayload,
    CreateUpdatePayload,
    EditIncidentPayload,
    RespondEscalationPayload,
)
from simulators.incident_io.query import Query, incident_filter, page_size, paginate, parse_query
from simulators.incident_io.records import (
    Json,
    TimelineItemRecord,
    api_key_actor,
    catalog_entry_json,
    catalog_type_json,
    custom_field_json,
    escalation_path_json,
    incident_json,
    incident_type_json,
    option_json,
    role_json,
    severity_json,
    status_json,
    timeline_item_json,
    update_json,
    user_with_roles_json,
)

router = APIRouter()


def _meta(after: str | None, size: int, total: int | None = None) -> Json:
    meta: Json = {"page_size": size}
    if after:
        meta["after"] = after
    if total is not None:
        meta["total_record_count"] = total
    return meta


@router.get("/v1/identity")
async def identity(request: Request, key: Key) -> Json:
    ws = state_of(request).workspace
    return {
        "identity": {
            "name": key.name,
            "dashboard_url": ws.dashboard_url,
            "roles": list(key.roles),
            "team_roles": [],
            "teams": [],
        }
    }


@router.get("/v1/severities")
async def list_severities(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    return {"severities": [severity_json(s, ws) for s in ws.severities]}


@router.get("/v1/incident_statuses")
async def list_statuses(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    return {"incident_statuses": [status_json(s, ws) for s in ws.statuses]}


@router.get("/v1/incident_types")
async def list_incident_types(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    return {"incident_types": [incident_type_json(t, ws) for t in ws.incident_types]}


@router.get("/v2/custom_fields")
async def list_custom_fields(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    return {"custom_fields": [custom_field_json(f, ws) for f in ws.custom_fields]}


@router.get("/v3/catalog_entries")
async def list_catalog_entries(request: Request, _: Key) -> Json:
    """Catalog V3#ListEntries: ``catalog_type_id`` and ``page_size`` (<= 250) are required
    parameters in the spec; ``identifier`` matches an ID, external ID or alias."""
    ws = state_of(request).workspace
    query = parse_query(request.url.query)
    type_id = query.first("catalog_type_id")
    if not type_id:
        raise required("catalog_type_id")
    if not query.first("page_size"):
        raise required("page_size")
    size = page_size(query, maximum=250)
    kind = ws.catalog_type(type_id)
    if kind is None:
        raise not_found("catalog type", type_id)
    ident = query.first("identifier")
    entries = sorted(
        (
            e
            for e in ws.catalog_entries
            if e.catalog_type_id == kind.id
            and (not ident or e.answers_to(ident) or e.name == ident)
        ),
        key=lambda e: (e.rank, e.id),
    )
    page, after = paginate(entries, after=query.first("after"), size=size, ident=lambda e: e.id)
    return {
        "catalog_type": catalog_type_json(kind, ws),
        "catalog_entries": [catalog_entry_json(e, ws) for e in page],
        "pagination_meta": _meta(after, size, len(entries)),
    }


@router.get("/v2/incident_roles")
async def list_incident_roles(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    return {"incident_roles": [role_json(r, ws) for r in ws.roles]}


@router.get("/v1/custom_field_options")
async def list_custom_field_options(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    query = parse_query(request.url.query)
    size = page_size(query, maximum=250)
    field_id = query.first("custom_field_id")
    if not field_id:
        raise required("custom_field_id")
    field = ws.custom_field(field_id)
    if field is None:
        raise not_found("custom field", field_id)
    options = sorted(field.options, key=lambda o: (o.sort_key, o.id))
    page, after = paginate(options, after=query.first("after"), size=size, ident=lambda o: o.id)
    return {
        "custom_field_options": [option_json(field.id, o) for o in page],
        "pagination_meta": _meta(after, size),
    }


@router.get("/v2/escalation_paths")
async def list_escalation_paths(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    query = parse_query(request.url.query)
    size = page_size(query, maximum=25)
    paths = list(ws.escalation_paths)
    page, after = paginate(paths, after=query.first("after"), size=size, ident=lambda p: p.id)
    return {
        "escalation_paths": [escalation_path_json(p, ws) for p in page],
        "pagination_meta": _meta(after, size),
    }


@router.get("/v2/users")
async def list_users(request: Request, _: Key) -> Json:
    ws = state_of(request).workspace
    query = parse_query(request.url.query)
    size = page_size(query, maximum=10000)
    email, slack = query.first("email"), query.first("slack_user_id")
    users = [
        u
        for u in ws.users
        if (not email or u.email.lower() == email.lower())
        and (not slack or u.slack_user_id == slack)
    ]
    page, after = paginate(users, after=query.first("after"), size=size, ident=lambda u: u.id)
    return {
        "users": [user_with_roles_json(u) for u in page],
        "pagination_meta": _meta(after, size),
    }


@router.get("/v2/incidents")
async def list_incidents(request: Request, key: Key) -> Json:
    state = state_of(request)
    query = parse_query(request.url.query)
    size = page_size(query, maximum=250)
    sort_by = query.first("sort_by") or "created_at_newest_first"
    if sort_by not in ("created_at_newest_first", "created_at_oldest_first"):
        raise invalid("sort_by", f"unknown sort_by {sort_by!r}")
    matches = incident_filter(query, state.workspace)
    found = [i for i in state.incidents.values() if state.can_see(i, key) and matches(i)]
    found.sort(key=lambda i: (i.created_at, i.number), reverse=sort_by == "created_at_newest_first")
    page, after = paginate(found, after=query.first("after"), size=size, ident=lambda i: i.id)
    return {
        "incidents": [incident_json(i, state.workspace) for i in page],
        "pagination_meta": _meta(after, size, len(found)),
    }


@router.post("/v2/incidents")
async def create_incident(request: Request, key: Key, body: CreateIncidentPayload) -> Json:
    state = state_of(request)
    incident = incidents.create_incident(state, body, actor=api_key_actor(key))
    return {"incident": incident_json(incident, state.workspace)}


@router.get("/v2/incidents/{id}")
async def show_incident(request: Request, key: Key, id: str) -> Json:
    state = state_of(request)
    return {"incident": incident_json(state.find_incident(id, key), state.workspace)}


@router.post("/v2/incidents/{id}/actions/edit")
async def edit_incident(request: Request, key: Key, id: str, body: EditIncidentPayload) -> Json:
    state = state_of(request)
    incident = state.find_incident(id, key)
    changes = body.incident.model_dump(exclude_unset=True)
    incidents.change_incident(state, incident, changes, actor=api_key_actor(key))
    return {"incident": incident_json(incident, state.workspace)}


@router.get("/v2/incident_updates")
async def list_updates(request: Request, key: Key) -> Json:
    state = state_of(request)
    query = parse_query(request.url.query)
    size = page_size(query, maximum=250)
    incident_id = query.first("incident_id")
    visible = {i.id for i in state.incidents.values() if state.can_see(i, key)}
    found = [
        u
        for u in reversed(state.updates)
        if u.incident_id in visible and (not incident_id or u.incident_id == incident_id)
    ]
    page, after = paginate(found, after=query.first("after"), size=size, ident=lambda u: u.id)
    return {
        "incident_updates": [update_json(u, state.workspace) for u in page],
        "pagination_meta": _meta(after, size),
    }


@router.post("/v2/incident_updates", status_code=201)
async def create_update(request: Request, key: Key, body: CreateUpdatePayload) -> Json:
    state = state_of(request)
    existing = state.idempotency.get(("incident_update", body.idempotency_key))
    if existing is not None:
        first = next(u for u in state.updates if u.id == existing)
        return {"incident_update": update_json(first, state.workspace)}
    if body.message is None and body.to_incident_status_id is None and body.to_severity_id is None:
        raise required("message", "Provide a message, to_incident_status_id or to_severity_id")
    incident = state.incidents.get(body.incident_id)
    if incident is None or not state.can_see(incident, key):
        raise invalid("incident_id", f"unknown incident {body.incident_id!r}")
    update = incidents.change_incident(
        state,
        incident,
        {"incident_status_id": body.to_incident_status_id, "severity_id": body.to_severity_id},
        actor=api_key_actor(key),
        names={"incident_status_id": "to_incident_status_id", "severity_id": "to_severity_id"},
        update_message=body.message,
        force_update=True,
    )
    assert update is not None  # force_update always records one
    state.idempotency[("incident_update", body.idempotency_key)] = update.id
    return {"incident_update": update_json(update, state.workspace)}


def _timeline_for(request: Request, key: Key, query: Query) -> list[TimelineItemRecord]:
    state = state_of(request)
    incident_id = query.first("incident_id")
    if not incident_id:
        raise required("incident_id")
    incident = state.find_incident(incident_id, key)
    items = [t for t in state.timeline if t.incident_id == incident.id]
    return sorted(items, key=lambda t: (t.timestamp, t.id))


@router.get("/v2/incident_timeline_items")
async def list_timeline_items(request: Request, key: Key) -> Json:
    query = parse_query(request.url.query)
    size = page_size(query, maximum=250)
    items = _timeline_for(request, key, query)
    page, after = paginate(items, after=query.first("after"), size=size, ident=lambda t: t.id)
    return {
        "incident_timeline_items": [timeline_item_json(t) for t in page],
        "pagination_meta": _meta(after, size),
    }


@router.post("/v2/incident_timeline_items", status_code=201)
async def create_timeline_item(request: Request, key: Key, body: CreateTimelineItemPayload) -> Json:
    state = state_of(request)
    existing = state.idempotency.get(("timeline_item", body.idempotency_key))
    if existing is None:
        incident = state.incidents.get(body.incident_id)
        if incident is None or not state.can_see(incident, key):
            raise invalid("incident_id", f"unknown incident {body.incident_id!r}")
        item = TimelineItemRecord(
            id=state.new_id(),
            incident_id=incident.id,
            title=body.title,
            timestamp=body.timestamp,
            creator=api_key_actor(key),
            created_at=state.now(),
            description=body.description,
        )
        state.timeline.append(item)
        state.idempotency[("timeline_item", body.idempotency_key)] = item.id
        existing = item.id
    item = next(t for t in state.timeline if t.id == existing)
    return {"incident_timeline_item": timeline_item_json(item)}


@router.get("/v2/escalations")
async def list_escalations(request: Request, _: Key) -> Json:
    state = state_of(request)
    query = parse_query(request.url.query)
    size = page_size(query, maximum=50)
    found = sorted(state.escalations.values(), key=lambda e: e.created_at, reverse=True)
    for cond in query.conditions:
        attr = {
            "status": "status",
            "incident": "incident_id",
            "escalation_path": "escalation_path_id",
        }
        if cond.name in attr and cond.op in ("one_of", "not_in"):
            keep = cond.op == "one_of"
            name = attr[cond.name]
            found = [e for e in found if (getattr(e, name) in cond.values) == keep]
        elif cond.name == "idempotency_key" and cond.op in ("is", "starts_with"):
            value = cond.values[-1]
            found = [
                e
                for e in found
                if (
                    e.idempotency_key == value
                    if cond.op == "is"
                    else e.idempotency_key.startswith(value)
                )
            ]
    page, after = paginate(found, after=query.first("after"), size=size, ident=lambda e: e.id)
    return {
        "escalations": [escalations.render(state, e) for e in page],
        "pagination_meta": _meta(after, size),
    }


@router.post("/v2/escalations", status_code=201)
async def create_escalation(request: Request, key: Key, body: CreateEscalationPayload) -> Json:
    state = state_of(request)
    return {"escalation": escalations.render(state, escalations.create(state, body, key))}


@router.get("/v2/escalations/{id}")
async def show_escalation(request: Request, _: Key, id: str) -> Json:
    state = state_of(request)
    return {"escalation": escalations.render(state, escalations.find(state, id))}


@router.post("/v2/escalations/{id}/actions/respond")
async def respond_escalation(
    request: Request, key: Key, id: str, body: RespondEscalationPayload
) -> Response:
    state = state_of(request)
    escalations.respond(state, escalations.find(state, id), body, key)
    return Response(status_code=200)
