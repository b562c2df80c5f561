"""The Linear simulator over real HTTP: auth, lookups, issueCreate, idempotency, limits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from simulators.linear import SANDBOX_API_KEY, Faults, LinearState, RateLimit, create_app, parse
from simulators.linear.graphql import GraphQLSyntaxError
from simulators.server import serve

TEAM_BY_KEY = """
query TeamByKey($key: String!) {
  teams(filter: {key: {eq: $key}}) { nodes { id key name } }
}
"""
LABELS = """
query Labels($names: [String!]!, $teamId: ID!) {
  issueLabels(filter: {name: {in: $names}, team: {id: {eq: $teamId}}}) { nodes { id name } }
}
"""
CREATE = """
mutation Create($input: IssueCreateInput!) {
  issueCreate(input: $input) {
    success
    issue {
      id identifier url title priority
      state { name }
      team { id key }
      labels { nodes { id name } }
    }
  }
}
"""
ISSUE = """
query Issue($id: String!) {
  issue(id: $id) { id identifier title team { key } }
}
"""


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[tuple[LinearState, httpx.AsyncClient]]:
    state = LinearState()
    async with serve(create_app(state)) as url:
        headers = {"Authorization": SANDBOX_API_KEY}
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            yield state, client


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}})


async def team_id(client: httpx.AsyncClient, key: str) -> str:
    body = (await gql(client, TEAM_BY_KEY, {"key": key})).json()
    [team] = body["data"]["teams"]["nodes"]
    return str(team["id"])


@pytest.mark.asyncio
async def test_bad_key_gets_observed_401_body(sim: tuple[LinearState, httpx.AsyncClient]) -> None:
    _, client = sim
    for headers in (
        {"Authorization": "lin_api_wrong"},
        {"Authorization": f"Bearer {SANDBOX_API_KEY}"},
    ):
        response = await client.post(
            "/graphql", json={"query": "{ viewer { id } }"}, headers=headers
        )
        assert response.status_code == 401
        [error] = response.json()["errors"]
        assert "data" not in response.json()
        assert error["message"] == "Authentication required, not authenticated"
        assert error["extensions"]["code"] == "AUTHENTICATION_ERROR"
        assert error["extensions"]["type"] == "authentication error"


@pytest.mark.asyncio
async def test_viewer_and_team_lookups(sim: tuple[LinearState, httpx.AsyncClient]) -> None:
    state, client = sim
    viewer = (await gql(client, "query Me { viewer { id name } }")).json()
    assert set(viewer["data"]["viewer"]) == {"id", "name"}
    eng = await team_id(client, "ENG")
    assert state.team_by_key("ENG") is not None and eng == state.team_by_key("ENG").id  # type: ignore[union-attr]
    by_id = await gql(client, "query T($id: String!) { team(id: $id) { key name } }", {"id": eng})
    assert by_id.json() == {"data": {"team": {"key": "ENG", "name": "Engineering"}}}
    none = (await gql(client, TEAM_BY_KEY, {"key": "NOPE"})).json()
    assert none["data"]["teams"]["nodes"] == []


@pytest.mark.asyncio
async def test_labels_filtered_by_name_and_team(sim: tuple[LinearState, httpx.AsyncClient]) -> None:
    state, client = sim
    pay = await team_id(client, "PAY")
    body = (
        await gql(client, LABELS, {"names": ["incident", "sev1", "ghost"], "teamId": pay})
    ).json()
    nodes = body["data"]["issueLabels"]["nodes"]
    assert sorted(n["name"] for n in nodes) == ["incident", "sev1"]
    assert {n["id"] for n in nodes} == {
        state.label_id("PAY", "incident"),
        state.label_id("PAY", "sev1"),
    }


@pytest.mark.asyncio
async def test_issue_create_then_lookup(sim: tuple[LinearState, httpx.AsyncClient]) -> None:
    state, client = sim
    eng = await team_id(client, "ENG")
    labels = [state.label_id("ENG", "incident"), state.label_id("ENG", "sev1")]
    inputs = {"teamId": eng, "title": "DB down", "description": "**SEV-1**", "priority": 1}
    first = (await gql(client, CREATE, {"input": inputs | {"labelIds": labels}})).json()
    second = (await gql(client, CREATE, {"input": inputs | {"title": "Again"}})).json()
    created = first["data"]["issueCreate"]
    assert created["success"] is True
    issue = created["issue"]
    assert issue["identifier"] == "ENG-1"
    assert second["data"]["issueCreate"]["issue"]["identifier"] == "ENG-2"
    assert issue["url"] == "https://linear.app/rensei-sandbox/issue/ENG-1/db-down"
    assert issue["priority"] == 1 and issue["state"] == {"name": "Todo"}
    assert issue["team"] == {"id": eng, "key": "ENG"}
    assert sorted(n["name"] for n in issue["labels"]["nodes"]) == ["incident", "sev1"]
    for ref in (issue["id"], "ENG-1"):
        found = (await gql(client, ISSUE, {"id": ref})).json()
        assert found["data"]["issue"]["title"] == "DB down"
    assert [i.identifier for i in state.issues] == ["ENG-1", "ENG-2"]
    listed = (await client.get("/_sim/issues")).json()
    assert listed[0]["input"]["description"] == "**SEV-1**"


@pytest.mark.asyncio
async def test_client_supplied_id_is_idempotent(sim: tuple[LinearState, httpx.AsyncClient]) -> None:
    state, client = sim
    eng = await team_id(client, "ENG")
    issue_id = str(uuid.uuid4())
    inputs = {"id": issue_id, "teamId": eng, "title": "Once"}
    assert (await gql(client, CREATE, {"input": inputs})).json()["data"]["issueCreate"]["success"]
    retry = await gql(client, CREATE, {"input": inputs})
    assert retry.status_code == 200
    body = retry.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["issueCreate"]
    assert error["extensions"]["code"] == "INPUT_ERROR"
    assert error["extensions"]["userError"] is True
    assert "already exists" in error["message"]
    found = (await gql(client, ISSUE, {"id": issue_id})).json()
    assert found["data"]["issue"]["identifier"] == "ENG-1"
    assert len(state.issues) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"teamId": str(uuid.uuid4()), "title": "x"}, "Entity not found: Team"),
        ({"teamId": "ENG-TEAM", "title": "x"}, "Entity not found: Team"),
        ({"title": "x", "priority": 9}, "Argument Validation Error"),
        ({"title": "x", "labelIds": ["nope"]}, "Entity not found: IssueLabel"),
        ({"title": "x", "id": "not-a-uuid"}, "Argument Validation Error"),
        (
            {"title": "x", "labelIds": ["PAY:incident"]},
            "Label incident does not belong to team ENG",
        ),
    ],
)
async def test_issue_create_input_errors(
    sim: tuple[LinearState, httpx.AsyncClient], inputs: dict[str, Any], message: str
) -> None:
    state, client = sim
    inputs.setdefault("teamId", await team_id(client, "ENG"))
    inputs["labelIds"] = [
        state.label_id(*ref.split(":")) if ":" in ref else ref for ref in inputs.get("labelIds", [])
    ]
    body = (await gql(client, CREATE, {"input": inputs})).json()
    [error] = body["errors"]
    assert error["message"] == message
    assert error["extensions"]["code"] == "INPUT_ERROR"
    assert error["extensions"]["type"] == "invalid input"
    assert error["locations"] == [{"line": 3, "column": 3}]
    assert state.issues == []


@pytest.mark.asyncio
async def test_unknown_field_and_syntax_errors(sim: tuple[LinearState, httpx.AsyncClient]) -> None:
    _, client = sim
    unknown = await gql(client, "{ viewer { id shoeSize } }")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["message"] == 'Cannot query field "shoeSize" on type "User".'
    broken = await gql(client, "query { viewer { id }")
    assert broken.status_code == 400
    assert broken.json()["errors"][0]["message"].startswith("Syntax Error:")


@pytest.mark.asyncio
async def test_rate_limit_headers_and_ratelimited(
    sim: tuple[LinearState, httpx.AsyncClient],
) -> None:
    state, client = sim
    state.rate_limit = RateLimit(limit=2, window_seconds=60)
    first = await gql(client, "{ viewer { id } }")
    assert first.headers["X-RateLimit-Requests-Limit"] == "2"
    assert first.headers["X-RateLimit-Requests-Remaining"] == "1"
    reset = int(first.headers["X-RateLimit-Requests-Reset"])
    assert reset > 1e11  # epoch milliseconds
    await gql(client, "{ viewer { id } }")
    limited = await gql(client, "{ viewer { id } }")
    assert limited.status_code == 400
    assert limited.headers["X-RateLimit-Requests-Remaining"] == "0"
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATELIMITED"


@pytest.mark.asyncio
async def test_faults_from_python_and_http(sim: tuple[LinearState, httpx.AsyncClient]) -> None:
    state, client = sim
    state.set_faults(Faults(ratelimited=1))
    forced = await gql(client, "{ viewer { id } }")
    assert forced.status_code == 400
    assert forced.json()["errors"][0]["extensions"]["type"] == "ratelimited"
    assert (await gql(client, "{ viewer { id } }")).status_code == 200

    answer = await client.post("/_sim/faults", json={"error_code": "INTERNAL_ERROR"})
    assert answer.json() == {"ok": True}
    failed = await gql(client, "{ viewer { id } }")
    assert failed.status_code == 500
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    assert (await gql(client, "{ viewer { id } }")).status_code == 200
    assert (await client.post("/_sim/faults", json={"bogus": 1})).status_code == 400


def test_parser_reads_aliases_literals_and_operation_names() -> None:
    document = """
    # a comment
    query A { x: team(id: "a\\"b", first: 3, flags: [true, null, ENUM]) { id } }
    mutation B($v: Int = 4) { issueCreate(input: {priority: $v}) { success } }
    """
    a = parse(document, "A")
    [team] = a.selections
    assert team.key == "x" and team.name == "team"
    assert team.arguments == {"id": 'a"b', "first": 3, "flags": [True, None, "ENUM"]}
    b = parse(document, "B")
    assert b.kind == "mutation" and b.defaults == {"v": 4}
    with pytest.raises(GraphQLSyntaxError, match="operation name"):
        parse(document)
    with pytest.raises(GraphQLSyntaxError, match="Fragments"):
        parse("{ viewer { ...F } }")


WORKSPACE_AND_TEAM = """
query Labels($teamId: ID!) {
  issueLabels(filter: {or: [{team: {id: {eq: $teamId}}}, {team: {null: true}}]}) {
    nodes { name team { key } }
  }
}
"""


@pytest.mark.asyncio
async def test_workspace_labels_have_no_team_and_serve_every_team(
    sim: tuple[LinearState, httpx.AsyncClient],
) -> None:
    state, client = sim
    eng = await team_id(client, "ENG")
    only_team = (await gql(client, LABELS, {"names": ["security", "bug"], "teamId": eng})).json()
    assert [n["name"] for n in only_team["data"]["issueLabels"]["nodes"]] == ["bug"]
    both = (await gql(client, WORKSPACE_AND_TEAM, {"teamId": eng})).json()
    found = {n["name"]: n["team"] for n in both["data"]["issueLabels"]["nodes"]}
    assert found == {
        "incident": {"key": "ENG"},
        "sev1": {"key": "ENG"},
        "sev2": {"key": "ENG"},
        "bug": {"key": "ENG"},
        "customer-impact": None,
        "security": None,
    }
    created = await gql(
        client,
        CREATE,
        {
            "input": {
                "teamId": await team_id(client, "PAY"),
                "title": "x",
                "labelIds": [state.label_id("*", "security")],
            }
        },
    )
    assert created.json()["data"]["issueCreate"]["issue"]["labels"]["nodes"] == [
        {"id": state.label_id("*", "security"), "name": "security"}
    ]
    unknown = await gql(client, '{ issueLabels(filter: {colour: {eq: "red"}}) { nodes { id } } }')
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["message"] == (
        'Field "colour" is not defined by type "IssueLabelFilter".'
    )


@pytest.mark.parametrize(
    "issue_id",
    [
        str(uuid.uuid5(uuid.NAMESPACE_URL, "wf-1/ticket")),  # a v5: what the old client sent
        str(uuid.uuid1()),
        "2f3b6f5e-9c1d-4a7b-0c3e-1234567890ab",  # version 4 nibble, but not the RFC variant
        "not-a-uuid",
    ],
)
@pytest.mark.asyncio
async def test_issue_id_must_be_a_uuid_v4(
    sim: tuple[LinearState, httpx.AsyncClient], issue_id: str
) -> None:
    state, client = sim
    inputs = {"id": issue_id, "teamId": await team_id(client, "ENG"), "title": "x"}
    response = await gql(client, CREATE, {"input": inputs})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INPUT_ERROR"
    assert error["extensions"]["userPresentableMessage"] == "id must be a UUID v4."
    assert state.issues == []
    ok = inputs | {"id": str(uuid.uuid4())}
    assert (await gql(client, CREATE, {"input": ok})).json()["data"]["issueCreate"]["success"]
