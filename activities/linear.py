"""Linear: a GraphQL client on httpx and the ``linear.issue.create`` activity."""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field
from temporalio import activity

from activities.credentials import ChainedCredentials, ClientCache
from activities.errors import (
    AuthenticationError,
    IntegrationError,
    InvalidRequestError,
    NotFoundError,
    ProviderUnavailableError,
    RateLimitedError,
    from_http_status,
    from_transport,
    integration_errors,
    parse_retry_after,
)
from interpreter.plan import NodeCall

PROVIDER = "Linear"
# Issue ids derive from uuid5(ISSUE_NAMESPACE, idempotency key) with the version bits of a v4
# (IssueCreateInput.id is "The identifier in UUID v4 format"): a retry sends the same id, so
# Linear refuses a second issue instead of creating one. Never change this value.
ISSUE_NAMESPACE = uuid.UUID("3c1b7f0e-52a4-4c6f-9d57-7e1a4f0b2c01")
PRIORITIES = {"none": 0, "urgent": 1, "high": 2, "medium": 3, "low": 4}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_RESET_HEADERS = ("requests", "complexity", "endpoint-requests")
_UNAVAILABLE_TYPES = {"internal error", "network error", "lock timeout", "bootstrap error"}
# Waiting for a rate-limit reset inside one attempt: at most this many waits per call, a
# heartbeat at least this often, and this much of the attempt kept for the request after it.
MAX_RATELIMIT_WAITS = 3
HEARTBEAT_EVERY_SECONDS = 20.0
DEADLINE_MARGIN_SECONDS = 5.0

Sleep = Callable[[float], Awaitable[None]]
OnRateLimit = Callable[[RateLimitedError], Awaitable[None]]

TEAM_BY_KEY = """query RenseiTeamByKey($value: String!) {
  teams(filter: {key: {eq: $value}}) { nodes { id key name } } }"""
TEAM_BY_ID = """query RenseiTeamById($value: ID!) {
  teams(filter: {id: {eq: $value}}) { nodes { id key name } } }"""
ALL_TEAMS = "query RenseiTeams { teams(first: 100) { nodes { id key name } } }"
# The team's labels and the workspace's (team null), which every team may use.
TEAM_LABELS = """query RenseiLabels($teamId: ID!) {
  issueLabels(filter: {or: [{team: {id: {eq: $teamId}}}, {team: {null: true}}]}, first: 250) {
    nodes { id name team { id } } } }"""
ISSUE_CREATE = """mutation RenseiIssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { id identifier url } } }"""
ISSUE = "query RenseiIssue($id: String!) { issue(id: $id) { id identifier url } }"


class CreateIssueInput(BaseModel):
    """``linear.issue.create``: a new issue in a team, by team key (``ENG``) or id."""

    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, description="team key such as ENG, or the team's id")
    title: str = Field(min_length=1)
    description: str | None = Field(default=None, description="Markdown")
    priority: (
        Annotated[int, Field(ge=0, le=4)]
        | Literal["urgent", "high", "medium", "low", "none"]
        | None
    ) = Field(default=None, description="0-4 (1 = urgent) or urgent/high/medium/low/none")
    labels: list[str] = Field(default_factory=list, description="label names of the team")


class CreateIssueResult(BaseModel):
    """The issue's id (UUID), identifier (ENG-42) and URL."""

    id: str
    identifier: str
    url: str


class LinearClient:
    """One API key against ``{base_url}/graphql``; team and label ids are cached."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        on_ratelimit: OnRateLimit | None = None,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/graphql"
        self._on_ratelimit = on_ratelimit
        # Personal keys go bare; OAuth access tokens take the Bearer scheme (NOTES §2.1).
        self._auth = f"Bearer {api_key}" if api_key.startswith("lin_oauth_") else api_key
        self._teams: dict[str, dict[str, str]] = {}
        self._labels: dict[str, dict[str, str]] = {}

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Runs one operation; returns ``data``, raising on any ``errors[]`` entry.

        When Linear rate-limits the call, ``on_ratelimit`` decides: it returns once the
        budget has reset (the call is sent again) or raises.
        """
        waits = 0
        while True:
            try:
                return await self._execute_once(query, variables)
            except RateLimitedError as exc:
                if self._on_ratelimit is None or waits >= MAX_RATELIMIT_WAITS:
                    raise
                waits += 1
                await self._on_ratelimit(exc)

    async def _execute_once(self, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        body = {"query": query, "variables": variables or {}}
        try:
            response = await self._http.post(self._url, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise from_transport(PROVIDER, exc) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 429 and not (isinstance(answer, dict) and answer.get("errors")):
            # Linear documents 400 + RATELIMITED; a bare 429 carries the same reset headers.
            raise RateLimitedError(
                "Linear rate limit reached; retrying later",
                retry_after=_ratelimit_delay(response.headers),
                status=429,
            )
        if not isinstance(answer, dict):
            raise from_http_status(PROVIDER, response)
        errors = answer.get("errors")
        if isinstance(errors, list) and errors:
            raise _error(response, errors[0] if isinstance(errors[0], dict) else {})
        if not response.is_success or not isinstance(answer.get("data"), dict):
            raise from_http_status(PROVIDER, response)
        data: dict[str, Any] = answer["data"]
        return data

    async def team(self, ref: str) -> dict[str, str]:
        """The team ``{id, key, name}`` for a key (``ENG``) or an id."""
        if ref not in self._teams:
            query = TEAM_BY_ID if _UUID.match(ref) else TEAM_BY_KEY
            data = await self.execute(query, {"value": ref})
            nodes = data["teams"]["nodes"]
            if not nodes:
                teams = (await self.execute(ALL_TEAMS))["teams"]["nodes"]
                known = ", ".join(sorted(t["key"] for t in teams)) or "none"
                raise InvalidRequestError(f"Linear team '{ref}' not found; valid teams: {known}")
            self._teams[ref] = {k: str(v) for k, v in nodes[0].items()}
        return self._teams[ref]

    async def label_ids(self, team: dict[str, str], names: list[str]) -> list[str]:
        """The ids of the labels called ``names`` usable in ``team``: the team's own and the
        workspace-level ones (exact name, then case-insensitive; the team's label wins a tie).
        """
        if not names:
            return []
        if team["id"] not in self._labels:
            data = await self.execute(TEAM_LABELS, {"teamId": team["id"]})
            nodes = data["issueLabels"]["nodes"]
            # Workspace labels first, so that a team label of the same name overrides it.
            nodes = sorted(nodes, key=lambda n: n.get("team") is not None)
            self._labels[team["id"]] = {str(n["name"]): str(n["id"]) for n in nodes}
        known = self._labels[team["id"]]
        folded = {name.lower(): ident for name, ident in known.items()}
        ids, missing = [], []
        for name in names:
            found = known.get(name) or folded.get(name.lower())
            if found is None:
                missing.append(name)
            else:
                ids.append(found)
        if missing:
            valid = ", ".join(sorted(known)) or "none"
            raise InvalidRequestError(
                f"Linear label(s) {', '.join(repr(m) for m in missing)} not found in team "
                f"{team['key']} nor at workspace level; valid labels: {valid}"
            )
        return ids

    async def create_issue(self, fields: dict[str, Any]) -> dict[str, Any]:
        """issueCreate with ``fields`` as IssueCreateInput; returns ``{id, identifier, url}``."""
        payload = (await self.execute(ISSUE_CREATE, {"input": fields}))["issueCreate"]
        if not payload.get("success") or not payload.get("issue"):
            raise ProviderUnavailableError("Linear did not confirm the new issue")
        return dict(payload["issue"])

    async def issue(self, issue_id: str) -> dict[str, Any] | None:
        """The issue ``{id, identifier, url}``, or None when it does not exist."""
        try:
            return dict((await self.execute(ISSUE, {"id": issue_id}))["issue"])
        except NotFoundError:
            return None


def _error(response: httpx.Response, entry: dict[str, Any]) -> IntegrationError:
    """Maps one GraphQL error entry (Linear's ``extensions``) into the error tree."""
    found = entry.get("extensions")
    ext: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(ext.get("code") or "")
    kind = str(ext.get("type") or "")
    raw = str(entry.get("message") or "")
    message = str(ext.get("userPresentableMessage") or raw or "Linear request failed")
    status = response.status_code
    if code == "RATELIMITED" or kind == "ratelimited":
        return RateLimitedError(
            "Linear rate limit reached; retrying later",
            retry_after=_ratelimit_delay(response.headers),
            status=status,
            code=code,
        )
    if code in ("AUTHENTICATION_ERROR", "FORBIDDEN") or status in (401, 403):
        return AuthenticationError.for_provider(PROVIDER, detail=message, status=status)
    if raw.startswith("Entity not found"):
        return NotFoundError(f"Linear: {message}", status=status, code=code)
    if status >= 500 or kind in _UNAVAILABLE_TYPES:
        return ProviderUnavailableError(f"Linear failed: {message}", status=status, code=code)
    if code == "USAGE_LIMIT_EXCEEDED":
        return InvalidRequestError(f"Linear plan limit reached: {message}", code=code)
    return InvalidRequestError(f"Linear refused the request: {message}", status=status, code=code)


def _ratelimit_delay(headers: httpx.Headers) -> float | None:
    """Seconds until the exhausted budgets reset (ms or s epochs), else ``Retry-After``."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    resets: list[float] = []
    exhausted: list[float] = []
    for name in _RESET_HEADERS:
        raw = headers.get(f"x-ratelimit-{name}-reset")
        try:
            value = float(raw) if raw is not None else None
        except ValueError:
            value = None
        if value is None:
            continue
        at = value / 1000.0 if value > 1e11 else value
        resets.append(at)
        if headers.get(f"x-ratelimit-{name}-remaining") == "0":
            exhausted.append(at)
    chosen = exhausted or resets
    return max(0.0, max(chosen) - time.time()) if chosen else None


class LinearActivities:
    """Linear activities bound to a credential source and a shared HTTP client."""

    def __init__(
        self,
        credentials: ChainedCredentials,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._sleep = sleep
        self._clients = ClientCache(
            credentials,
            "linear",
            "api_key",
            lambda key: LinearClient(
                http, base_url=base_url, api_key=key, on_ratelimit=self._wait_for_reset
            ),
        )

    async def _wait_for_reset(self, exc: RateLimitedError) -> None:
        """Waits inside this attempt for Linear's budget to reset, or fails the step now.

        The wait is visible: the heartbeat details (Temporal's pending activity) say
        "rate-limited by Linear until HH:MM UTC". When the reset comes after the attempt's
        deadline (the step's timeout), no retry is scheduled beyond it: the step fails now,
        with the same words.
        """
        if exc.retry_after is None:
            raise exc  # no reset time given: Temporal's retry policy backs off
        now = time.time()
        until = now + exc.retry_after
        state = f"rate-limited by Linear until {_clock(until)} UTC"
        deadline = _attempt_deadline(activity.info())
        if deadline is not None and until > deadline - DEADLINE_MARGIN_SECONDS:
            raise RateLimitedError(
                f"{state}, after this step's timeout ends at {_clock(deadline)} UTC; not "
                "waiting (raise the step's timeout, or run it again after the reset)",
                retryable=False,
                status=exc.status,
                code=exc.code,
            ) from None  # the step reports the innermost cause: this one, not "retrying later"
        activity.logger.info("linear: %s; waiting %.0fs", state, until - now)
        remaining = until - now
        while remaining > 0:
            activity.heartbeat({"state": state, "until": _iso(until)})
            chunk = min(remaining, HEARTBEAT_EVERY_SECONDS)
            await self._sleep(chunk)
            remaining -= chunk

    async def _client(self, workspace: str) -> LinearClient:
        return await self._clients.get(workspace)

    @activity.defn(name="linear.issue.create")
    async def create_issue(self, call: NodeCall) -> dict[str, Any]:
        """Opens one issue per run and step: the id comes from the idempotency key."""
        with integration_errors():
            params = CreateIssueInput.model_validate(call.inputs)
            client = await self._client(call.context.workspace)
            team = await client.team(params.team)
            issue_id = issue_id_for(call.context.idempotency_key)
            fields: dict[str, Any] = {"id": issue_id, "teamId": team["id"], "title": params.title}
            if params.description is not None:
                fields["description"] = params.description
            if params.priority is not None:
                priority = params.priority
                fields["priority"] = PRIORITIES[priority] if isinstance(priority, str) else priority
            if params.labels:
                fields["labelIds"] = await client.label_ids(team, params.labels)
            try:
                issue = await client.create_issue(fields)
            except InvalidRequestError:
                # "already exists": an earlier attempt created it and its answer was lost.
                found = await client.issue(issue_id)
                if found is None:
                    raise
                activity.logger.info("linear: issue of this step already exists; reusing it")
                issue = found
            result = CreateIssueResult.model_validate(issue)
        return result.model_dump()

    def all(self) -> list[Any]:
        """Every activity of this class, for the worker."""
        return [self.create_issue]


def _attempt_deadline(info: activity.Info) -> float | None:
    """When Temporal gives up on this attempt (epoch seconds), from its timeouts."""
    ends: list[float] = []
    if info.start_to_close_timeout:
        ends.append((info.started_time + info.start_to_close_timeout).timestamp())
    if info.schedule_to_close_timeout:
        ends.append((info.scheduled_time + info.schedule_to_close_timeout).timestamp())
    return min(ends) if ends else None


def _clock(epoch: float) -> str:
    """``HH:MM`` in UTC, rounded up so that "until" is never before the moment meant."""
    return datetime.fromtimestamp(math.ceil(epoch / 60) * 60, UTC).strftime("%H:%M")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def issue_id_for(idempotency_key: str) -> str:
    """The deterministic issue id of one run and step, in UUID v4 form.

    The 122 bits of a name-based UUID with the version nibble set to 4 and the RFC 4122
    variant: as random-looking as a v4 and the same on every retry.
    """
    digest = uuid.uuid5(ISSUE_NAMESPACE, idempotency_key)
    return str(uuid.UUID(bytes=digest.bytes, version=4))
