"""FastAPI app simulating the parts of Linear's GraphQL API that rensei uses."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from simulators.linear.graphql import Field, GraphQLSyntaxError, parse, substitute
from simulators.linear.state import (
    VIEWER_ID,
    Faults,
    Label,
    LinearState,
    Team,
    label_json,
)

# The observed body for a bad or missing key (NOTES §2.3).
UNAUTHENTICATED = {
    "errors": [
        {
            "message": "Authentication required, not authenticated",
            "extensions": {
                "type": "authentication error",
                "code": "AUTHENTICATION_ERROR",
                "statusCode": 401,
                "userError": True,
                "userPresentableMessage": "You need to authenticate to access this operation.",
                "meta": {},
                "http": {"status": 401},
            },
        }
    ]
}


class LinearGraphQLError(Exception):
    """One ``errors[]`` entry, plus the HTTP status the whole response gets."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "INPUT_ERROR",
        type_: str = "invalid input",
        status: int = 400,
        http_status: int = 200,
        user_error: bool = True,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.extensions = {
            "type": type_,
            "code": code,
            "statusCode": status,
            "userError": user_error,
            "userPresentableMessage": user_message or message,
            "meta": {},
        }

    def entry(self, field: Field | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {"message": str(self), "extensions": self.extensions}
        if field is not None:
            entry["path"] = [field.key]
            entry["locations"] = [{"line": field.line, "column": field.column}]
        return entry


def _validation_error(message: str) -> LinearGraphQLError:
    return LinearGraphQLError(
        message, code="GRAPHQL_VALIDATION_FAILED", type_="graphql error", http_status=400
    )


def _not_found(entity: str) -> LinearGraphQLError:
    return LinearGraphQLError(
        f"Entity not found: {entity}", user_message=f"Could not find referenced {entity}."
    )


def project(value: Any, selections: list[Field] | None, type_name: str) -> Any:
    """Keeps only the selected fields (with aliases), as a GraphQL server does."""
    if selections is None or value is None:
        return value
    if isinstance(value, list):
        return [project(item, selections, type_name) for item in value]
    out: dict[str, Any] = {}
    actual = str(value.get("__typename", type_name))
    for field in selections:
        if field.name not in value:
            raise _validation_error(f'Cannot query field "{field.name}" on type "{actual}".')
        out[field.key] = project(value[field.name], field.selections, field.name)
    return out


def _string_match(comparator: Any, actual: str) -> bool:
    if not isinstance(comparator, dict):
        return True
    checks: dict[str, Callable[[Any], bool]] = {
        "eq": lambda v: actual == v,
        "neq": lambda v: actual != v,
        "eqIgnoreCase": lambda v: actual.lower() == str(v).lower(),
        "in": lambda v: actual in (v or []),
        "nin": lambda v: actual not in (v or []),
        "contains": lambda v: str(v) in actual,
    }
    return all(checks[op](v) for op, v in comparator.items() if op in checks)


def _connection(nodes: list[dict[str, Any]], type_name: str) -> dict[str, Any]:
    end = nodes[-1]["id"] if nodes else None
    page = {"hasNextPage": False, "hasPreviousPage": False, "endCursor": end, "startCursor": None}
    return {"__typename": type_name, "nodes": nodes, "pageInfo": page}


def _teams(state: LinearState, args: dict[str, Any]) -> dict[str, Any]:
    wanted = args.get("filter") or {}
    nodes = [
        t.to_json()
        for t in state.teams.values()
        if _string_match(wanted.get("key"), t.key)
        and _string_match(wanted.get("name"), t.name)
        and _string_match(wanted.get("id"), t.id)
    ]
    return _connection(nodes[: int(args.get("first") or 50)], "TeamConnection")


# The IssueLabelFilter / NullableTeamFilter fields the simulator evaluates (schema.graphql);
# any other field is refused rather than silently ignored.
_LABEL_FILTER = {"and", "or", "id", "name", "team"}
_TEAM_FILTER = {"and", "or", "id", "key", "name", "null"}


def _check_filter(value: Any, allowed: set[str], type_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _validation_error(f'Expected type "{type_name}" to be an object.')
    for name in value:
        if name not in allowed:
            raise _validation_error(f'Field "{name}" is not defined by type "{type_name}".')
    return value


def _team_matches(wanted: Any, team: Team | None) -> bool:
    """NullableTeamFilter: ``null: true`` matches a workspace label (no team)."""
    spec = _check_filter(wanted, _TEAM_FILTER, "NullableTeamFilter")
    if "null" in spec and (team is None) != bool(spec["null"]):
        return False
    if team is None:
        return not ({"id", "key", "name"} & set(spec)) and all(
            _team_matches(s, team) for s in spec.get("and") or []
        )
    return (
        _string_match(spec.get("id"), team.id)
        and _string_match(spec.get("key"), team.key)
        and _string_match(spec.get("name"), team.name)
        and all(_team_matches(s, team) for s in spec.get("and") or [])
        and (not spec.get("or") or any(_team_matches(s, team) for s in spec["or"]))
    )


def _label_matches(state: LinearState, wanted: Any, label: Label) -> bool:
    spec = _check_filter(wanted, _LABEL_FILTER, "IssueLabelFilter")
    team = state.teams[label.team_id] if label.team_id is not None else None
    return (
        _string_match(spec.get("name"), label.name)
        and _string_match(spec.get("id"), label.id)
        and ("team" not in spec or _team_matches(spec["team"], team))
        and all(_label_matches(state, s, label) for s in spec.get("and") or [])
        and (not spec.get("or") or any(_label_matches(state, s, label) for s in spec["or"]))
    )


def _labels(state: LinearState, args: dict[str, Any]) -> dict[str, Any]:
    wanted = args.get("filter") or {}
    nodes = []
    for label in state.labels.values():
        if _label_matches(state, wanted, label):
            team = state.teams[label.team_id].to_json() if label.team_id is not None else None
            nodes.append(label_json(label) | {"team": team})
    return _connection(nodes[: int(args.get("first") or 50)], "IssueLabelConnection")


def _create_issue(state: LinearState, args: dict[str, Any]) -> dict[str, Any]:
    data = args.get("input")
    if not isinstance(data, dict):
        raise LinearGraphQLError("Argument Validation Error", user_message="input is required.")
    team = state.teams.get(str(data.get("teamId") or ""))
    if team is None:
        raise _not_found("Team")
    issue_id = data.get("id")
    if issue_id is not None:
        _check_new_id(state, str(issue_id))
    if not str(data.get("title") or "").strip():
        raise LinearGraphQLError("Argument Validation Error", user_message="Title is required.")
    priority = data.get("priority", 0)
    if priority is not None and (not isinstance(priority, int) or not 0 <= priority <= 4):
        raise LinearGraphQLError(
            "Argument Validation Error", user_message="Priority must be between 0 and 4."
        )
    for label_id in data.get("labelIds") or []:
        label = state.labels.get(str(label_id))
        if label is None:
            raise _not_found("IssueLabel")
        if label.team_id is not None and label.team_id != team.id:
            raise LinearGraphQLError(
                f"Label {label.name} does not belong to team {team.key}",
                user_message="Labels must belong to the issue's team.",
            )
    extra = {"_state_name": _state_name(state, team, data.get("stateId"))}
    issue = state.create_issue(team, data | extra, issue_id=issue_id)
    return {
        "__typename": "IssuePayload",
        "success": True,
        "issue": state.issue_json(issue),
        "lastSyncId": float(len(state.issues)),
    }


def _check_new_id(state: LinearState, issue_id: str) -> None:
    # schema.graphql, IssueCreateInput.id: "The identifier in UUID v4 format. If none is
    # provided, the backend will generate one." Any other UUID version is refused as input.
    try:
        parsed = uuid.UUID(issue_id)
    except ValueError:
        parsed = None
    if parsed is None or parsed.version != 4 or parsed.variant != uuid.RFC_4122:
        raise LinearGraphQLError("Argument Validation Error", user_message="id must be a UUID v4.")
    if state.find_issue(issue_id) is not None:
        raise LinearGraphQLError(
            "Issue already exists with that id",
            user_message=f"An issue with id {issue_id} already exists.",
        )


def _state_name(state: LinearState, team: Team, state_id: Any) -> str | None:
    if state_id is None:
        return None
    for name, found in state.issue_states(team).items():
        if found["id"] == state_id:
            return name
    raise _not_found("WorkflowState")


def _resolve(state: LinearState, kind: str, field: Field, args: dict[str, Any]) -> Any:
    match kind, field.name:
        case "query", "viewer":
            viewer = {"__typename": "User", "id": VIEWER_ID, "name": "Rensei Bot"}
            return viewer | {"email": "rensei@example.com", "displayName": "rensei"}
        case "query", "teams":
            return _teams(state, args)
        case "query", "team":
            team = state.find_team(str(args.get("id") or ""))
            if team is None:
                raise _not_found("Team")
            return team.to_json()
        case "query", "issueLabels":
            return _labels(state, args)
        case "query", "issue":
            issue = state.find_issue(str(args.get("id") or ""))
            if issue is None:
                raise _not_found("Issue")
            return state.issue_json(issue)
        case "mutation", "issueCreate":
            return _create_issue(state, args)
    type_name = "Query" if kind == "query" else "Mutation"
    raise _validation_error(f'Cannot query field "{field.name}" on type "{type_name}".')


def execute(state: LinearState, body: Any) -> tuple[int, dict[str, Any]]:
    """Runs one GraphQL request body; returns the HTTP status and the response JSON."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return 400, {"errors": [_validation_error("Must provide query string.").entry()]}
    variables = body.get("variables") or {}
    try:
        operation = parse(body["query"], body.get("operationName"))
    except GraphQLSyntaxError as exc:
        entry = _validation_error(str(exc)).entry()
        entry["locations"] = [{"line": exc.line, "column": exc.column}]
        return 400, {"errors": [entry]}
    values = operation.defaults | variables
    data: dict[str, Any] = {}
    for field in operation.selections:
        try:
            resolved = _resolve(state, operation.kind, field, substitute(field.arguments, values))
            data[field.key] = project(resolved, field.selections, field.name)
        except LinearGraphQLError as exc:
            # Linear answers a failed field with data null (the observed INPUT_ERROR body).
            return exc.http_status, {"errors": [exc.entry(field)], "data": None}
    return 200, {"data": data}


async def _handle(state: LinearState, request: Request) -> JSONResponse:
    faults = state.faults
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    if request.headers.get("authorization", "") not in state.api_keys:
        return JSONResponse(UNAUTHENTICATED, status_code=401)
    allowed, headers = state.take_request()
    if faults.ratelimited > 0:
        faults.ratelimited -= 1
        allowed, headers = False, headers | {"X-RateLimit-Requests-Remaining": "0"}
    if not allowed:
        error = LinearGraphQLError(
            "Rate limit exceeded",
            code="RATELIMITED",
            type_="ratelimited",
            user_error=False,
            user_message="Rate limit exceeded, please try again later.",
        )
        return JSONResponse({"errors": [error.entry()]}, status_code=400, headers=headers)
    if faults.error_code is not None and faults.error_count > 0:
        faults.error_count -= 1
        error = LinearGraphQLError(
            faults.error_message,
            code=faults.error_code,
            type_=faults.error_type,
            status=faults.error_status,
            user_error=False,
        )
        body = {"errors": [error.entry()], "data": None}
        return JSONResponse(body, status_code=faults.error_status, headers=headers)
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    created = len(state.issues)
    status, body = execute(state, payload)
    if len(state.issues) > created and faults.fail_after_create > 0:
        faults.fail_after_create -= 1
        error = LinearGraphQLError(
            "Internal server error", code="INTERNAL_ERROR", type_="internal error", status=500
        )
        error.extensions["userError"] = False
        return JSONResponse({"errors": [error.entry()], "data": None}, status_code=500)
    return JSONResponse(body, status_code=status, headers=headers)


def _faults_from_json(body: dict[str, Any]) -> Faults:
    known = {f.name for f in fields(Faults)}
    unknown = set(body) - known
    if unknown:
        raise ValueError(f"unknown fault fields {sorted(unknown)}; known: {sorted(known)}")
    faults = Faults(**body)
    if faults.error_code is not None and faults.error_count == 0:
        faults.error_count = 1
    return faults


def create_app(state: LinearState | None = None) -> FastAPI:
    """Builds the simulator app; pass a ``LinearState`` to inspect or steer it from Python."""
    sim = state or LinearState()
    app = FastAPI(title="Linear GraphQL simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim

    @app.post("/graphql")
    async def graphql(request: Request) -> JSONResponse:
        return await _handle(sim, request)

    @app.get("/_sim/issues")
    async def list_issues() -> list[dict[str, Any]]:
        return [sim.issue_json(i) | {"input": i.input} for i in sim.issues]

    @app.post("/_sim/faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            sim.set_faults(_faults_from_json(await request.json()))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    @app.delete("/_sim/faults")
    async def clear_faults() -> dict[str, bool]:
        sim.clear_faults()
        return {"ok": True}

    return app


def run_linear(port: int, host: str = "127.0.0.1", *, state: LinearState | None = None) -> None:
    """Serves the simulator with uvicorn until interrupted (the CLI's entry point)."""
    uvicorn.run(create_app(state), host=host, port=port, log_level="info")
