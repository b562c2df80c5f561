"""The ``incident_io.*`` node activities: inputs in, one typed client, normalized outputs out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from temporalio import activity

from activities.credentials import ChainedCredentials, MissingCredentialError
from activities.errors import AuthenticationError, IntegrationError, InvalidRequestError
from activities.errors import to_application_error as _to_application_error
from activities.incident_io import lookup
from activities.incident_io.budget import CallBudget, CatalogueCache
from activities.incident_io.client import IncidentIoClient
from activities.incident_io.models import Incident, IncidentStatus, Severity
from activities.incident_io.normalize import incident_fields
from activities.incident_io.preferences import Preferences, WorkspacePreferences, no_preferences
from activities.incident_io.schemas import (
    AcknowledgeIncidentInput,
    AcknowledgeIncidentOutput,
    AddTimelineEventInput,
    AddTimelineEventOutput,
    EscalateIncidentInput,
    EscalateIncidentOutput,
    GetIncidentInput,
    IncidentOutput,
    ListIncidentsInput,
    ListIncidentsOutput,
    ResolveIncidentInput,
    ResolveIncidentOutput,
    UpdateIncidentInput,
)
from activities.incident_io.teams import team_filter
from contracts.errors import invalid_inputs
from interpreter.plan import NodeCall

In = TypeVar("In", bound=BaseModel)
RESOLVED_CATEGORIES = frozenset({"learning", "closed", "declined", "canceled", "merged"})


class IncidentIoActivities:
    """Every ``incident_io.*`` node, bound to shared HTTP, cache and budget of one process.

    Args:
        credentials: where each workspace's token is found (``incident_io``/``token``).
        http: the process's HTTP client; its timeout bounds every call.
        base_url_for: the API base URL of a workspace (a simulator in the sandbox).
        cache: severities/statuses/fields, shared by every activity of the process.
        budget: the per-process call budget (token bucket per workspace).
        preferences: a workspace's severity overrides and team field (the store's).
        max_inline_wait: longest Retry-After waited out inside one attempt.
        sandbox: ``(token, url)``: calls made with this token (the local simulator's sandbox
            key, which no real incident.io accepts) go to ``url``, so a workspace leaves
            sandbox mode as soon as a real token is stored.
    """

    def __init__(
        self,
        credentials: ChainedCredentials,
        http: httpx.AsyncClient,
        base_url_for: Callable[[str], str],
        *,
        cache: CatalogueCache | None = None,
        budget: CallBudget | None = None,
        preferences: Preferences | None = None,
        max_inline_wait: float = 30.0,
        sandbox: tuple[str, str] | None = None,
    ) -> None:
        self._sandbox = sandbox
        self._credentials = credentials
        self._http = http
        self._base_url_for = base_url_for
        self.cache = cache or CatalogueCache()
        self._budget = budget
        self._preferences = preferences or no_preferences
        self._max_inline_wait = max_inline_wait

    def all(self) -> list[Callable[..., Any]]:
        """The activities to register on the incident.io task queue."""
        return [
            self.get,
            self.list,
            self.acknowledge,
            self.resolve,
            self.update,
            self.escalate,
            self.add_timeline_event,
        ]

    async def client(self, workspace: str) -> IncidentIoClient:
        """A client for ``workspace``'s token (looked up now; never stored in history)."""
        token = await self._credentials.require(workspace, "incident_io", "token")
        return IncidentIoClient(
            self._http,
            base_url=self._sandbox[1]
            if self._sandbox is not None and token == self._sandbox[0]
            else self._base_url_for(workspace),
            token=token,
            catalogue_cache=self.cache,
            workspace=workspace,
            budget=self._budget,
            max_inline_wait=self._max_inline_wait,
        )

    async def _run(
        self,
        call: NodeCall,
        model: type[In],
        body: Callable[[IncidentIoClient, In], Awaitable[BaseModel]],
    ) -> dict[str, Any]:
        """Validates inputs, runs ``body`` and turns provider errors into Temporal failures."""
        activity.logger.info("%s step=%s", activity.info().activity_type, call.context.step_id)
        try:
            try:
                inputs = model.model_validate(call.inputs)
            except ValidationError as exc:
                raise InvalidRequestError(invalid_inputs(exc)) from None
            try:
                client = await self.client(call.context.workspace)
            except MissingCredentialError as exc:
                raise AuthenticationError(str(exc)) from None
            result = await body(client, inputs)
        except IntegrationError as exc:
            raise _to_application_error(exc) from None
        return result.model_dump(mode="json", by_alias=True)

    async def _normalize(
        self, client: IncidentIoClient, incidents: list[Incident]
    ) -> list[IncidentOutput]:
        severities = await client.severities()
        prefs = await self._preferences(client.workspace)
        return [_normalized(i, severities, prefs) for i in incidents]

    # -- nodes -------------------------------------------------------------------------------

    @activity.defn(name="incident_io.incident.get")
    async def get(self, call: NodeCall) -> dict[str, Any]:
        """Fetches one incident, normalized (severity as SEV-n, custom fields by name)."""

        async def body(client: IncidentIoClient, inputs: GetIncidentInput) -> BaseModel:
            incident = await client.get_incident(inputs.incident_id)
            return (await self._normalize(client, [incident]))[0]

        return await self._run(call, GetIncidentInput, body)

    @activity.defn(name="incident_io.incident.list")
    async def list(self, call: NodeCall) -> dict[str, Any]:
        """Lists incidents (open by default) filtered by status, team and severity."""

        async def body(client: IncidentIoClient, inputs: ListIncidentsInput) -> BaseModel:
            filters: dict[str, Any] = {}
            word = inputs.status.strip().casefold()
            if word in lookup.CATEGORY_WORDS:
                filters["status_categories"] = lookup.CATEGORY_WORDS[word]
            else:
                status = lookup.status_named(inputs.status, await client.incident_statuses())
                filters["status_ids"] = [status.id]
            prefs = await self._preferences(client.workspace)
            if inputs.severity is not None:
                found = lookup.severity_matching(
                    inputs.severity, await client.severities(), prefs.severity_overrides
                )
                filters["severity_ids"] = [found.id]
            if inputs.team is not None:
                filters["custom_field"] = await team_filter(client, inputs.team, prefs.team_field)
            incidents = await client.list_incidents(limit=inputs.limit, **filters)
            normalized = await self._normalize(client, incidents)
            return ListIncidentsOutput(incidents=normalized, count=len(normalized))

        return await self._run(call, ListIncidentsInput, body)

    @activity.defn(name="incident_io.incident.acknowledge")
    async def acknowledge(self, call: NodeCall) -> dict[str, Any]:
        """Accepts a triage incident into its first active status, posts ``message``, acks
        its triggered pages, and reports what really happened (see ``acknowledgement``)."""
        key = call.context.idempotency_key

        async def body(client: IncidentIoClient, inputs: AcknowledgeIncidentInput) -> BaseModel:
            incident = await client.get_incident(inputs.incident_id)
            before = incident.incident_status
            move = acknowledgement(incident, await client.incident_statuses())
            after, update_id, problem = before, None, move.problem
            if move.target is not None:
                try:
                    update = await client.create_incident_update(
                        incident.id,
                        idempotency_key=key,
                        message=inputs.message,
                        to_status_id=move.target.id,
                    )
                    after, update_id = update.new_incident_status or move.target, update.id
                except InvalidRequestError as exc:
                    problem = (
                        f"incident.io refused to move {incident.reference} from {before.name} "
                        f"to {move.target.name}: {exc}"
                    )
            if inputs.message is not None and update_id is None:
                update = await client.create_incident_update(
                    incident.id, idempotency_key=f"{key}#message", message=inputs.message
                )
                update_id = update.id
            if problem is not None:
                await client.create_timeline_item(
                    incident.id,
                    idempotency_key=f"{key}#status",
                    title=f"Acknowledged by rensei; the status stays {before.name}",
                    timestamp=datetime.now(UTC),
                    description=problem,
                )
            pages = await client.list_escalations(
                incident_ids=[incident.id], statuses=["triggered"]
            )
            for page in pages:
                await client.respond_escalation(page.id, "ack")
            return AcknowledgeIncidentOutput(
                incident_id=incident.id,
                status=after.name,
                status_category=after.category,
                status_changed=after.id != before.id,
                status_from=before.name,
                status_to=after.name if after.id != before.id else None,
                escalations_acknowledged=[p.id for p in pages],
                update_id=update_id,
                problem=problem,
            )

        return await self._run(call, AcknowledgeIncidentInput, body)

    @activity.defn(name="incident_io.incident.resolve")
    async def resolve(self, call: NodeCall) -> dict[str, Any]:
        """Moves the incident to its first post-incident status (else closed); idempotent."""
        key = call.context.idempotency_key

        async def body(client: IncidentIoClient, inputs: ResolveIncidentInput) -> BaseModel:
            incident = await client.get_incident(inputs.incident_id)
            status = incident.incident_status
            if status.category in RESOLVED_CATEGORIES:
                if inputs.message is not None:  # same key: a retry returns the first update
                    await client.create_incident_update(
                        incident.id, idempotency_key=key, message=inputs.message
                    )
                return ResolveIncidentOutput(incident_id=incident.id, incident_status=status.name)
            if status.category not in ("triage", "live"):
                raise InvalidRequestError(
                    f"cannot resolve {incident.reference} from {status.name} ({status.category}): "
                    "incident.io resolves only triage or active incidents; make it active first"
                )
            statuses = await client.incident_statuses()
            target = lookup.first_in("learning", statuses) or lookup.first_in("closed", statuses)
            if target is None:
                raise InvalidRequestError("the workspace has no post-incident or closed status")
            await client.create_incident_update(
                incident.id, idempotency_key=key, message=inputs.message, to_status_id=target.id
            )
            return ResolveIncidentOutput(incident_id=incident.id, incident_status=target.name)

        return await self._run(call, ResolveIncidentInput, body)

    @activity.defn(name="incident_io.incident.update")
    async def update(self, call: NodeCall) -> dict[str, Any]:
        """Changes severity, status, name or summary; returns the normalized incident."""

        async def body(client: IncidentIoClient, inputs: UpdateIncidentInput) -> BaseModel:
            changes: dict[str, Any] = {}
            if inputs.severity is not None:
                prefs = await self._preferences(client.workspace)
                found = lookup.severity_matching(
                    inputs.severity, await client.severities(), prefs.severity_overrides
                )
                changes["severity_id"] = found.id
            if inputs.status is not None:
                status = lookup.status_named(inputs.status, await client.incident_statuses())
                changes["incident_status_id"] = status.id
            for name in ("name", "summary"):
                if getattr(inputs, name) is not None:
                    changes[name] = getattr(inputs, name)
            if not changes:
                raise InvalidRequestError(
                    "nothing to update: give severity, status, name or summary"
                )
            incident = await client.get_incident(inputs.incident_id)
            edited = await client.edit_incident(incident.id, changes)
            return (await self._normalize(client, [edited]))[0]

        return await self._run(call, UpdateIncidentInput, body)

    @activity.defn(name="incident_io.incident.escalate")
    async def escalate(self, call: NodeCall) -> dict[str, Any]:
        """Pages an escalation path or users for the incident (one escalation per run step)."""
        key = call.context.idempotency_key

        async def body(client: IncidentIoClient, inputs: EscalateIncidentInput) -> BaseModel:
            incident = await client.get_incident(inputs.incident_id)
            path_id = None
            if inputs.escalation_path is not None:
                path_id = lookup.path_named(
                    inputs.escalation_path, await client.escalation_paths()
                ).id
            user_ids = [await _user_id(client, u) for u in inputs.users or []]
            escalation = await client.create_escalation(
                idempotency_key=key,
                title=inputs.title or f"{incident.reference}: {incident.name}",
                description=inputs.description,
                escalation_path_id=path_id,
                user_ids=user_ids,
                incident_id=incident.id,
            )
            return EscalateIncidentOutput(escalation_id=escalation.id, status=escalation.status)

        return await self._run(call, EscalateIncidentInput, body)

    @activity.defn(name="incident_io.timeline.add_event")
    async def add_timeline_event(self, call: NodeCall) -> dict[str, Any]:
        """Adds a custom timeline item; retries of the same run step never duplicate it."""
        key = call.context.idempotency_key

        async def body(client: IncidentIoClient, inputs: AddTimelineEventInput) -> BaseModel:
            incident = await client.get_incident(inputs.incident_id)
            kind = inputs.event_type.strip()
            title = inputs.title if kind in ("", "custom") else f"[{kind}] {inputs.title}"
            item = await client.create_timeline_item(
                incident.id,
                idempotency_key=key,
                title=title,
                timestamp=datetime.now(UTC),
                description=inputs.description,
            )
            return AddTimelineEventOutput(
                id=item.id, incident_id=item.incident_id, title=item.title, timestamp=item.timestamp
            )

        return await self._run(call, AddTimelineEventInput, body)


@dataclass(frozen=True)
class StatusMove:
    """The status move acknowledging asks for: ``target`` None means none is made, and
    ``problem`` says why when one was wanted."""

    target: IncidentStatus | None
    problem: str | None = None


def acknowledgement(incident: Incident, statuses: list[IncidentStatus]) -> StatusMove:
    """Which status move acknowledging ``incident`` makes.

    incident.io has no "acknowledged" status. The documented moves (spec,
    IncidentEditPayloadV2.incident_status_id) are: within a category, triage or active to
    post-incident or closed, post-incident to closed. So:

    - active (``live``): stays as it is; nothing to move.
    - triage: accepting it into the first active status is tried; the documented list
      does not include that move, so incident.io may refuse it, and the refusal is reported.
    - paused, post-incident, closed, declined, canceled, merged: no move back to active
      exists; the status stays and the problem is reported.
    """
    status = incident.incident_status
    if status.category == "live":
        return StatusMove(None)
    if status.category == "triage":
        live = lookup.first_in("live", statuses)
        if live is not None:
            return StatusMove(live)
        return StatusMove(
            None, f"the workspace has no active status to accept {incident.reference} into"
        )
    return StatusMove(
        None,
        f"{incident.reference} is {status.name} ({status.category}): incident.io allows no "
        "move from it back to an active status, so the status stays",
    )


def _normalized(
    incident: Incident, severities: list[Severity], prefs: WorkspacePreferences
) -> IncidentOutput:
    fields = incident_fields(
        incident.model_dump(mode="json"),
        severities=[s.model_dump() for s in severities],
        overrides=prefs.severity_overrides,
        team_field=prefs.team_field,
    )
    fields["id"] = fields.pop("incident_id")
    return IncidentOutput.model_validate(fields)


async def _user_id(client: IncidentIoClient, user: str) -> str:
    if "@" not in user:
        return user
    found = await client.users(email=user)
    if not found:
        raise InvalidRequestError(f"no incident.io user has the email '{user}'")
    return found[0].id
