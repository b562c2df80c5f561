"""In-process state of the Linear simulator: seeded teams and labels, issues, limits, faults."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Public sandbox credential, valid only against this simulator.
SANDBOX_API_KEY = "lin_api_rEnSeIsAnDbOx0000000000000000000000000001"
ORG_KEY = "rensei-sandbox"
VIEWER_ID = "8a0f0c5e-6a53-4d3c-9f0e-0000000000a1"
_NAMESPACE = uuid.UUID("6f1d1a52-2b1e-4f43-9c3e-2a7b3e5c0001")
SEED_LABELS = ("incident", "sev1", "sev2", "bug")
# Workspace-level labels (no team), usable in every team (schema.graphql: IssueLabel.team
# "If null, the label is a workspace-level label available to all teams in the workspace").
WORKSPACE_LABELS = ("customer-impact", "security")
STATES = ("Backlog", "Todo", "In Progress", "Done", "Canceled")
DEFAULT_STATE = "Todo"


def stable_id(*parts: str) -> str:
    """A deterministic UUID, so seeded IDs are the same in every run."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass
class Team:
    id: str
    key: str
    name: str
    next_number: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"__typename": "Team", "id": self.id, "key": self.key, "name": self.name}


@dataclass
class Label:
    """A label of one team, or of the whole workspace when ``team_id`` is None."""

    id: str
    name: str
    team_id: str | None
    color: str = "#eb5757"


@dataclass
class Issue:
    """A created issue; ``input`` is the IssueCreateInput exactly as received."""

    id: str
    identifier: str
    number: int
    title: str
    description: str | None
    priority: int
    team_id: str
    state_name: str
    label_ids: list[str]
    url: str
    created_at: str
    input: dict[str, Any] = field(default_factory=dict)


@dataclass
class RateLimit:
    """Request budget per fixed window; Linear's real default for API keys is 5,000/hour."""

    limit: int = 5000
    window_seconds: float = 3600.0
    enabled: bool = True


@dataclass
class Faults:
    """Injected failures, consumed request by request.

    ``ratelimited`` forces that many RATELIMITED answers; ``error_code`` (with its ``error_type``
    and ``error_status``) forces ``error_count`` GraphQL errors; ``latency`` delays each request.
    ``fail_after_create`` answers that many successful issueCreate requests with HTTP 500
    *after* the issue was stored: the ambiguous failure an idempotent client must survive.
    """

    ratelimited: int = 0
    error_code: str | None = None
    error_type: str = "internal error"
    error_message: str = "Internal server error"
    error_status: int = 500
    error_count: int = 0
    latency: float = 0.0
    fail_after_create: int = 0


PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


class LinearState:
    """The simulated workspace. Tests read ``issues`` and set ``rate_limit``/``faults``."""

    def __init__(
        self,
        *,
        api_key: str = SANDBOX_API_KEY,
        rate_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_keys = {api_key}
        self.rate_limit = rate_limit or RateLimit()
        self.faults = Faults()
        self.clock = clock
        self.teams: dict[str, Team] = {}
        self.labels: dict[str, Label] = {}
        for key, name in (("ENG", "Engineering"), ("OPS", "Operations"), ("PAY", "Payments")):
            team = Team(stable_id("team", key), key, name)
            self.teams[team.id] = team
            for label in SEED_LABELS:
                label_id = stable_id("label", key, label)
                self.labels[label_id] = Label(label_id, label, team.id)
        for label in WORKSPACE_LABELS:
            label_id = stable_id("label", "*", label)
            self.labels[label_id] = Label(label_id, label, None)
        self.issues: list[Issue] = []
        self.requests = 0
        self._window_start = clock()
        self._window_count = 0

    def team_by_key(self, key: str) -> Team | None:
        return next((t for t in self.teams.values() if t.key == key), None)

    def find_team(self, ref: str) -> Team | None:
        """Looks a team up by UUID or key (``team(id:)`` accepts both)."""
        return self.teams.get(ref) or self.team_by_key(ref)

    def label_id(self, team_key: str, name: str) -> str:
        """The seeded label ID for ``name`` in team ``team_key`` (``*``: a workspace label)."""
        return stable_id("label", team_key, name)

    def find_issue(self, ref: str) -> Issue | None:
        """Looks an issue up by UUID or identifier (``ENG-1``)."""
        return next((i for i in self.issues if ref in (i.id, i.identifier)), None)

    def issue_states(self, team: Team) -> dict[str, dict[str, Any]]:
        kinds = {"Backlog": "backlog", "Todo": "unstarted", "In Progress": "started"}
        kinds |= {"Done": "completed", "Canceled": "canceled"}
        return {
            name: {"__typename": "WorkflowState", "id": stable_id("state", team.key, name)}
            | {"name": name, "type": kinds[name]}
            for name in STATES
        }

    def create_issue(self, team: Team, data: dict[str, Any], *, issue_id: str | None) -> Issue:
        number = team.next_number
        team.next_number += 1
        title = str(data.get("title") or "")
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "issue"
        identifier = f"{team.key}-{number}"
        issue = Issue(
            id=issue_id or str(uuid.uuid4()),
            identifier=identifier,
            number=number,
            title=title,
            description=data.get("description"),
            priority=int(data.get("priority") or 0),
            team_id=team.id,
            state_name=str(data.get("_state_name") or DEFAULT_STATE),
            label_ids=list(data.get("labelIds") or []),
            url=f"https://linear.app/{ORG_KEY}/issue/{identifier}/{slug}",
            created_at=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.clock())),
            input={k: v for k, v in data.items() if not k.startswith("_")},
        )
        self.issues.append(issue)
        return issue

    def issue_json(self, issue: Issue) -> dict[str, Any]:
        """The Issue object with every field the simulator can serve."""
        team = self.teams[issue.team_id]
        labels = [self.labels[i] for i in issue.label_ids]
        return {
            "__typename": "Issue",
            "id": issue.id,
            "identifier": issue.identifier,
            "number": float(issue.number),
            "title": issue.title,
            "description": issue.description,
            "priority": float(issue.priority),
            "priorityLabel": PRIORITY_LABELS[issue.priority],
            "url": issue.url,
            "createdAt": issue.created_at,
            "updatedAt": issue.created_at,
            "state": self.issue_states(team)[issue.state_name],
            "team": team.to_json(),
            "labels": {"nodes": [label_json(label) for label in labels]},
        }

    def take_request(self) -> tuple[bool, dict[str, str]]:
        """Counts a request; returns (allowed, X-RateLimit-Requests-* headers)."""
        now = self.clock()
        limit = self.rate_limit
        if now - self._window_start >= limit.window_seconds:
            self._window_start, self._window_count = now, 0
        self.requests += 1
        allowed = not limit.enabled or self._window_count < limit.limit
        if allowed:
            self._window_count += 1
        reset_ms = int((self._window_start + limit.window_seconds) * 1000)
        return allowed, {
            "X-RateLimit-Requests-Limit": str(limit.limit),
            "X-RateLimit-Requests-Remaining": str(max(0, limit.limit - self._window_count)),
            "X-RateLimit-Requests-Reset": str(reset_ms),
        }

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults

    def clear_faults(self) -> None:
        self.faults = Faults()


def label_json(label: Label) -> dict[str, Any]:
    return {"__typename": "IssueLabel", "id": label.id, "name": label.name, "color": label.color}
