"""A typed incident.io client: one place for auth, pagination, rate limits and error translation.

Every HTTP failure leaves this module as one of the ``activities.errors`` types with the
user-facing message of SPEC §9 and incident.io's ``request_id``; the token never appears in
a message or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from temporalio import activity

from activities.errors import (
    AuthenticationError,
    IntegrationError,
    InvalidRequestError,
    NotFoundError,
    ProviderUnavailableError,
    RateLimitedError,
    parse_retry_after,
)
from activities.ids import path_segment
from activities.incident_io.budget import CallBudget, CatalogueCache
from activities.incident_io.models import (
    CatalogEntry,
    CustomField,
    CustomFieldOption,
    Escalation,
    EscalationPath,
    Identity,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Severity,
    TimelineItem,
    User,
)
from contracts.errors import problems

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Params = list[tuple[str, str | int | float | bool | None]]

PERMISSION_DENIED = (
    "Permission denied: the API token was revoked or lacks scope; "
    "re-authorize in Settings -> Integrations"
)
DEFAULT_RETRY_AFTER = 10.0
MAX_INLINE_WAITS = 5


def not_found_message(kind: str) -> str:
    """SPEC §9 wording for a missing resource of ``kind`` ("incident", "escalation", ...)."""
    return (
        f"{kind[0].upper()}{kind[1:]} not found: confirm the {kind} ID and that it belongs "
        "to this workspace"
    )


def _heartbeat(detail: str) -> None:
    if activity.in_activity():
        activity.heartbeat(detail)


class IncidentIoClient:
    """incident.io's REST API for one workspace's token.

    Args:
        http: the shared ``httpx.AsyncClient`` (its timeout applies to every call).
        base_url: ``https://api.incident.io`` or a simulator.
        token: the workspace's API key (``inc_...``); sent as a bearer token, never logged.
        catalogue_cache: shared per process; severities, statuses and fields are read from it.
        workspace: the rensei workspace, for cache and budget keys.
        budget: the process's call budget; each HTTP call takes one token.
        max_inline_wait: a 429 asking to wait at most this long is waited out inside the
            attempt (heartbeating); a longer one raises ``RateLimitedError``.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        token: str,
        catalogue_cache: CatalogueCache | None = None,
        workspace: str = "default",
        budget: CallBudget | None = None,
        max_inline_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._cache = catalogue_cache or CatalogueCache()
        self.workspace = workspace
        self._budget = budget
        self.max_inline_wait = max_inline_wait
        self._sleep = sleep

    # -- transport ------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        resource: str = "incident",
    ) -> Any:
        """One API call; returns the decoded JSON body (None when empty).

        Raises:
            IntegrationError: a subclass naming what went wrong (see the module docstring).
        """
        waits = 0
        while True:
            if self._budget is not None:
                await self._budget.acquire((self.base_url, self.workspace))
            response = await self._send(method, path, params=params, json=json)
            if response.status_code < 400:
                return response.json() if response.content else None
            error = _translate(response, resource=resource)
            log.info("incident.io %s %s -> %d", method, path, response.status_code)
            delay = error.retry_after
            if (
                isinstance(error, RateLimitedError)
                and delay is not None
                and delay <= self.max_inline_wait
                and waits < MAX_INLINE_WAITS
            ):
                waits += 1
                await self._wait(delay)
                continue
            raise error

    async def _send(
        self, method: str, path: str, *, params: Params | None, json: Any
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, self.base_url + path, params=params, json=json, headers=self._headers
            )
        except httpx.TimeoutException:
            raise ProviderUnavailableError(
                f"incident.io did not answer in time ({method} {path}); retrying"
            ) from None
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                f"cannot reach incident.io at {self.base_url} ({type(exc).__name__}); retrying"
            ) from None

    async def _wait(self, seconds: float) -> None:
        """Sleeps through a short Retry-After, heartbeating so the attempt stays alive."""
        left = seconds
        while left > 0:
            _heartbeat(f"rate limited by incident.io; waiting {left:.1f}s")
            chunk = min(left, 5.0)
            await self._sleep(chunk)
            left -= chunk

    async def _get_model(self, path: str, key: str, model: type[M], **kw: Any) -> M:
        body = await self.request("GET", path, **kw)
        return _parse(model, body, key)

    async def paginate(
        self,
        path: str,
        key: str,
        model: type[M],
        *,
        params: Params | None = None,
        page_size: int = 25,
        limit: int | None = None,
        resource: str = "incident",
    ) -> list[M]:
        """Follows ``pagination_meta.after`` until the last page or ``limit`` items."""
        items: list[M] = []
        after: str | None = None
        while True:
            size = page_size if limit is None else max(1, min(page_size, limit - len(items)))
            query: Params = [*(params or []), ("page_size", size)]
            if after:
                query.append(("after", after))
            body = await self.request("GET", path, params=query, resource=resource)
            items += [_parse(model, raw) for raw in (body or {}).get(key) or []]
            after = ((body or {}).get("pagination_meta") or {}).get("after")
            if not after or (limit is not None and len(items) >= limit):
                return items if limit is None else items[:limit]

    # -- identity and catalogues -------------------------------------------------------------

    async def identity(self) -> Identity:
        """``GET /v1/identity``: validates the token."""
        return await self._get_model("/v1/identity", "identity", Identity)

    def _cached(self, kind: str, load: Callable[[], Awaitable[list[M]]]) -> Awaitable[list[M]]:
        return self._cache.get((self.base_url, self.workspace, kind), load)

    async def severities(self) -> list[Severity]:
        """The workspace's severities (cached), most severe first."""

        async def load() -> list[Severity]:
            body = await self.request("GET", "/v1/severities", resource="severity")
            found = [_parse(Severity, s) for s in (body or {}).get("severities") or []]
            return sorted(found, key=lambda s: -s.rank)

        return await self._cached("severities", load)

    async def incident_statuses(self) -> list[IncidentStatus]:
        """The workspace's incident statuses (cached), by rank."""

        async def load() -> list[IncidentStatus]:
            body = await self.request("GET", "/v1/incident_statuses", resource="incident status")
            found = [_parse(IncidentStatus, s) for s in (body or {}).get("incident_statuses") or []]
            return sorted(found, key=lambda s: s.rank)

        return await self._cached("statuses", load)

    async def custom_fields(self) -> list[CustomField]:
        """The workspace's custom fields (cached)."""

        async def load() -> list[CustomField]:
            body = await self.request("GET", "/v2/custom_fields", resource="custom field")
            return [_parse(CustomField, f) for f in (body or {}).get("custom_fields") or []]

        return await self._cached("custom_fields", load)

    async def custom_field_options(self, field_id: str) -> list[CustomFieldOption]:
        """The options of a select field (cached)."""
        return await self._cached(
            f"options:{field_id}",
            lambda: self.paginate(
                "/v1/custom_field_options",
                "custom_field_options",
                CustomFieldOption,
                params=[("custom_field_id", field_id)],
                page_size=250,
                resource="custom field",
            ),
        )

    async def catalog_entries(self, catalog_type_id: str) -> list[CatalogEntry]:
        """``GET /v3/catalog_entries`` of one catalog type (cached); the values of a
        catalog-backed custom field such as "Affected Team"."""
        return await self._cached(
            f"catalog:{catalog_type_id}",
            lambda: self.paginate(
                "/v3/catalog_entries",
                "catalog_entries",
                CatalogEntry,
                params=[("catalog_type_id", catalog_type_id)],
                page_size=250,
                resource="catalog type",
            ),
        )

    async def escalation_paths(self) -> list[EscalationPath]:
        """The workspace's escalation paths (cached)."""
        return await self._cached(
            "escalation_paths",
            lambda: self.paginate(
                "/v2/escalation_paths",
                "escalation_paths",
                EscalationPath,
                page_size=25,
                resource="escalation path",
            ),
        )

    async def users(self, *, email: str | None = None) -> list[User]:
        """``GET /v2/users``, optionally the one with ``email``."""
        params: Params = [("email", email)] if email else []
        return await self.paginate(
            "/v2/users", "users", User, params=params, page_size=250, resource="user"
        )

    # -- incidents ---------------------------------------------------------------------------

    async def get_incident(self, ident: str) -> Incident:
        """``GET /v2/incidents/{id}`` by id, reference number (``42``) or ``INC-42``."""
        key = ident.strip()
        if key.upper().startswith("INC-") and key[4:].isdigit():
            key = key[4:]
        key = path_segment(key, what="incident id")
        return await self._get_model(f"/v2/incidents/{key}", "incident", Incident)

    async def list_incidents(
        self,
        *,
        status_categories: Sequence[str] = (),
        status_ids: Sequence[str] = (),
        severity_ids: Sequence[str] = (),
        custom_field: dict[str, Sequence[str]] | None = None,
        limit: int = 25,
    ) -> list[Incident]:
        """``GET /v2/incidents`` newest first, with server-side filters, up to ``limit``."""
        params: Params = [("status_category[one_of]", c) for c in status_categories]
        params += [("status[one_of]", s) for s in status_ids]
        params += [("severity[one_of]", s) for s in severity_ids]
        for field_id, values in (custom_field or {}).items():
            params += [(f"custom_field[{field_id}][one_of]", v) for v in values]
        return await self.paginate(
            "/v2/incidents", "incidents", Incident, params=params, page_size=250, limit=limit
        )

    async def edit_incident(
        self, incident_id: str, changes: dict[str, Any], *, notify: bool = True
    ) -> Incident:
        """``POST /v2/incidents/{id}/actions/edit``: only the given fields change."""
        body = await self.request(
            "POST",
            f"/v2/incidents/{path_segment(incident_id, what='incident id')}/actions/edit",
            json={"notify_incident_channel": notify, "incident": changes},
        )
        return _parse(Incident, body, "incident")

    async def list_incident_updates(self, incident_id: str) -> list[IncidentUpdate]:
        return await self.paginate(
            "/v2/incident_updates",
            "incident_updates",
            IncidentUpdate,
            params=[("incident_id", incident_id)],
            page_size=250,
        )

    async def create_incident_update(
        self,
        incident_id: str,
        *,
        idempotency_key: str,
        message: str | None = None,
        to_status_id: str | None = None,
        to_severity_id: str | None = None,
    ) -> IncidentUpdate:
        """``POST /v2/incident_updates``; a repeated key returns the first update."""
        payload: dict[str, Any] = {"idempotency_key": idempotency_key, "incident_id": incident_id}
        for name, value in (
            ("message", message),
            ("to_incident_status_id", to_status_id),
            ("to_severity_id", to_severity_id),
        ):
            if value is not None:
                payload[name] = value
        body = await self.request("POST", "/v2/incident_updates", json=payload)
        return _parse(IncidentUpdate, body, "incident_update")

    # -- timeline ----------------------------------------------------------------------------

    async def list_timeline_items(self, incident_id: str) -> list[TimelineItem]:
        return await self.paginate(
            "/v2/incident_timeline_items",
            "incident_timeline_items",
            TimelineItem,
            params=[("incident_id", incident_id)],
            page_size=250,
        )

    async def create_timeline_item(
        self,
        incident_id: str,
        *,
        idempotency_key: str,
        title: str,
        timestamp: datetime,
        description: str | None = None,
    ) -> TimelineItem:
        """``POST /v2/incident_timeline_items``; a repeated key returns the first item."""
        payload: dict[str, Any] = {
            "idempotency_key": idempotency_key,
            "incident_id": incident_id,
            "title": title,
            "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
        }
        if description is not None:
            payload["description"] = description
        body = await self.request("POST", "/v2/incident_timeline_items", json=payload)
        return _parse(TimelineItem, body, "incident_timeline_item")

    # -- escalations -------------------------------------------------------------------------

    async def list_escalations(
        self, *, incident_ids: Sequence[str] = (), statuses: Sequence[str] = ()
    ) -> list[Escalation]:
        params: Params = [("incident[one_of]", i) for i in incident_ids]
        params += [("status[one_of]", s) for s in statuses]
        return await self.paginate(
            "/v2/escalations",
            "escalations",
            Escalation,
            params=params,
            page_size=50,
            resource="escalation",
        )

    async def create_escalation(
        self,
        *,
        idempotency_key: str,
        title: str,
        description: str | None = None,
        escalation_path_id: str | None = None,
        user_ids: Sequence[str] = (),
        incident_id: str | None = None,
    ) -> Escalation:
        """``POST /v2/escalations`` (path XOR users); a repeated key returns the first."""
        payload: dict[str, Any] = {"idempotency_key": idempotency_key, "title": title}
        if description is not None:
            payload["description"] = description
        if escalation_path_id is not None:
            payload["escalation_path_id"] = escalation_path_id
        if user_ids:
            payload["user_ids"] = list(user_ids)
        if incident_id is not None:
            payload["incident_id"] = incident_id
        body = await self.request("POST", "/v2/escalations", json=payload, resource="escalation")
        return _parse(Escalation, body, "escalation")

    async def respond_escalation(self, escalation_id: str, response: str = "ack") -> None:
        """``POST /v2/escalations/{id}/actions/respond`` as the API key itself."""
        await self.request(
            "POST",
            f"/v2/escalations/{path_segment(escalation_id, what='escalation id')}/actions/respond",
            json={"response": response},
            resource="escalation",
        )


def _parse(model: type[M], body: Any, key: str | None = None) -> M:
    raw = (body or {}).get(key) if key is not None and isinstance(body, dict) else body
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ProviderUnavailableError(
            f"incident.io answered with an unexpected {model.__name__}: "
            f"{problems(exc, root=model.__name__)}"
        ) from None


def _translate(response: httpx.Response, *, resource: str) -> IntegrationError:
    """Maps an error response onto the error tree, keeping incident.io's request id."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    request_id = body.get("request_id") or response.headers.get("x-request-id")
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    status = response.status_code
    if status == 404:
        return NotFoundError(not_found_message(resource), status=status, request_id=request_id)
    if status in (401, 403):
        scope = next(
            (str(e["metadata"]["scope"]) for e in errors if (e.get("metadata") or {}).get("scope")),
            None,
        )
        message = PERMISSION_DENIED + (f" (missing scope: {scope})" if scope else "")
        return AuthenticationError(message, status=status, request_id=request_id)
    if status == 429:
        return RateLimitedError(
            "incident.io rate limit reached; retrying later",
            request_id=request_id,
            retry_after=_retry_after(response, body),
        )
    if status >= 500 or status in (408, 409):
        return ProviderUnavailableError(
            f"incident.io is unavailable (HTTP {status}); retrying", request_id=request_id
        )
    messages = "; ".join(str(e.get("message")) for e in errors if e.get("message"))
    return InvalidRequestError(
        f"incident.io rejected the request: {messages or f'HTTP {status}'}",
        request_id=request_id,
    )


def _retry_after(response: httpx.Response, body: dict[str, Any]) -> float:
    header = parse_retry_after(response.headers.get("retry-after"))
    if header is not None:
        return header
    raw = (body.get("rate_limit") or {}).get("retry_after")
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return DEFAULT_RETRY_AFTER
        return max(0.0, moment.timestamp() - time.time())
    return DEFAULT_RETRY_AFTER
