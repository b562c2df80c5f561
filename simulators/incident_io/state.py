"""The simulator's store: seeded workspace, incidents, updates, escalations, faults, webhooks."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from simulators.incident_io import seed
from simulators.incident_io.errors import not_found
from simulators.incident_io.faults import Faults
from simulators.incident_io.incidents import normalize_custom_fields
from simulators.incident_io.ratelimit import RateLimiter
from simulators.incident_io.records import (
    EscalationRecord,
    IncidentRecord,
    Json,
    TimelineItemRecord,
    UpdateRecord,
    incident_json,
    status_json,
    user_json,
    webhook_incident_json,
)
from simulators.incident_io.seed import ApiKey, Workspace
from simulators.incident_io.webhooks import WebhookSender

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class SimulatorConfig:
    """Knobs for one simulator instance; the defaults match incident.io's documented limits."""

    rate_limit_per_minute: int = 1200
    escalation_rate_limit_per_minute: int = 60
    webhook_url: str | None = None
    webhook_secret: str | None = None
    schedule_scale: float = 1.0
    """Multiplies the Svix retry delays; tests use e.g. 0.001."""
    webhook_timeout: float = 15.0
    seed_incidents: bool = True
    """Start with a few example incidents (INC-1..INC-4, one private)."""
    random_seed: int = 0
    severity_names: tuple[str, ...] | None = None
    """The workspace's severities, most severe first (default: Emergency..Minor)."""
    catalog_team_field: str | None = None
    """Model the team as a catalog-backed field of this name instead of an option field."""


@dataclass
class RequestRecord:
    """One request the public API received (never the token)."""

    method: str
    path: str
    query: str
    key_name: str | None
    status: int
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def summary(self) -> Json:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "key_name": self.key_name,
            "status": self.status,
            "at": self.at.isoformat(),
        }


class SimulatorState:
    """Everything one simulator instance knows; tests seed, inspect and break it in-process."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.workspace: Workspace = seed.build_workspace(
            severity_names=self.config.severity_names,
            catalog_team_field=self.config.catalog_team_field,
        )
        self.clock = clock or (lambda: datetime.now(UTC))
        self.faults = Faults(seed=self.config.random_seed)
        self.limiter = RateLimiter()
        self.webhooks = WebhookSender(
            url=self.config.webhook_url,
            secret=self.config.webhook_secret,
            schedule_scale=self.config.schedule_scale,
            timeout=self.config.webhook_timeout,
        )
        self._rng = random.Random(self.config.random_seed)
        self.reset()

    def reset(self) -> None:
        """Forgets every incident, update, escalation and request, then re-seeds."""
        self.incidents: dict[str, IncidentRecord] = {}
        self.updates: list[UpdateRecord] = []
        self.timeline: list[TimelineItemRecord] = []
        self.escalations: dict[str, EscalationRecord] = {}
        self.requests: list[RequestRecord] = []
        # (kind, idempotency key) -> id of the record the first request created
        self.idempotency: dict[tuple[str, str], str] = {}
        self.limiter.reset()
        self.faults.clear()
        if self.config.seed_incidents:
            _seed_incidents(self)

    # -- ids and time ---------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def new_id(self) -> str:
        """A fresh 26-character ULID: 48 bits of milliseconds, 80 seeded-random bits."""
        value = (int(self.now().timestamp() * 1000) << 80) | self._rng.getrandbits(80)
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))

    # -- keys and visibility ----------------------------------------------------------------

    def key_for_token(self, token: str) -> ApiKey | None:
        return self.workspace.key_by_token(token)

    @staticmethod
    def can_see(incident: IncidentRecord, key: ApiKey | None) -> bool:
        """Private incidents are visible only to keys allowed to view them (or to /_sim)."""
        if incident.visibility == "public" or key is None:
            return True
        return "incidents.view_private" in key.scopes

    def find_incident(self, ident: str, key: ApiKey | None = None) -> IncidentRecord:
        """Looks an incident up by id or by the numeric part of its reference."""
        found = self.incidents.get(ident)
        if found is None and ident.isdigit():
            found = next((i for i in self.incidents.values() if i.number == int(ident)), None)
        if found is None or not self.can_see(found, key):
            raise not_found("incident", ident)
        return found

    def next_number(self) -> int:
        return max((i.number for i in self.incidents.values()), default=0) + 1

    # -- incidents --------------------------------------------------------------------------

    def create_incident(
        self,
        name: str,
        *,
        status_id: str = seed.STATUS_INVESTIGATING,
        severity_id: str | None = None,
        visibility: str = "public",
        mode: str = "standard",
        summary: str | None = None,
        type_id: str | None = seed.TYPE_DEFAULT,
        custom_field_entries: list[Json] | None = None,
        role_assignments: dict[str, str] | None = None,
        creator: Json | None = None,
        created_at: datetime | None = None,
        number: int | None = None,
        notify: bool = False,
    ) -> IncidentRecord:
        """Stores an incident directly (test helper); `notify=True` also sends the webhook."""
        when = created_at or self.now()
        num = number or self.next_number()
        slug = "-".join(name.lower().split())[:60]
        incident = IncidentRecord(
            id=self.new_id(),
            number=num,
            name=name,
            status_id=status_id,
            visibility=visibility,
            mode=mode,
            creator=creator or {"user": _user_actor(seed.USER_ALICE, self)},
            created_at=when,
            updated_at=when,
            summary=summary,
            severity_id=severity_id,
            type_id=type_id,
            slack_channel_id=f"C07INC{num:05d}",
            slack_channel_name=f"inc-{num}-{slug}",
            custom_fields=normalize_custom_fields(self.workspace, custom_field_entries or []),
            role_assignments=dict(role_assignments or {}),
        )
        self.incidents[incident.id] = incident
        if notify:
            self.notify_created(incident)
        return incident

    def record_update(
        self,
        incident: IncidentRecord,
        *,
        updater: Json,
        message: str | None = None,
    ) -> UpdateRecord:
        update = UpdateRecord(
            id=self.new_id(),
            incident_id=incident.id,
            status_id=incident.status_id,
            updater=updater,
            created_at=self.now(),
            severity_id=incident.severity_id,
            message=message,
        )
        self.updates.append(update)
        if message is not None:
            incident.most_recent_update_message = message
        return update

    def related_incident_ids(self, incident: IncidentRecord) -> list[str]:
        return []

    # -- webhooks ---------------------------------------------------------------------------

    def notify_created(self, incident: IncidentRecord) -> None:
        if incident.visibility == "private":
            self.webhooks.send("private_incident.incident_created_v2", {"id": incident.id})
            return
        body = webhook_incident_json(incident, self.workspace, self.related_incident_ids(incident))
        self.webhooks.send("public_incident.incident_created_v2", body)

    def notify_updated(self, incident: IncidentRecord, previous_status_id: str) -> None:
        """Sends incident_updated_v2, plus incident_status_updated_v2 if the status moved."""
        if incident.visibility == "private":
            self.webhooks.send("private_incident.incident_updated_v2", {"id": incident.id})
            return
        ws = self.workspace
        related = self.related_incident_ids(incident)
        self.webhooks.send(
            "public_incident.incident_updated_v2", webhook_incident_json(incident, ws, related)
        )
        if previous_status_id != incident.status_id:
            previous = ws.status(previous_status_id)
            current = ws.status(incident.status_id)
            assert previous is not None and current is not None
            self.webhooks.send(
                "public_incident.incident_status_updated_v2",
                {
                    "incident": incident_json(incident, ws),
                    "previous_status": status_json(previous, ws),
                    "new_status": status_json(current, ws),
                },
            )


def _user_actor(user_id: str, state: SimulatorState) -> Json:
    user = state.workspace.user(user_id)
    assert user is not None, user_id
    return user_json(user)


def _seed_incidents(state: SimulatorState) -> None:
    base = seed.SEEDED_AT
    ws = state.workspace

    def team(name: str) -> Json:
        field = ws.team_field()
        if field.catalog_type_id is not None:
            entry = next(e for e in ws.catalog_entries if e.name == name)
            return {"custom_field_id": field.id, "values": [{"value_catalog_entry_id": entry.id}]}
        option = next(o for o in field.options if o.value == name)
        return {"custom_field_id": field.id, "values": [{"value_option_id": option.id}]}

    def severity(severity_id: str) -> str | None:
        return severity_id if ws.severity(severity_id) is not None else None

    state.create_incident(
        "Checkout latency spike",
        status_id=seed.STATUS_CLOSED,
        severity_id=severity(seed.SEVERITY_MAJOR),
        summary="p99 checkout latency went above 4 s after a config push.",
        custom_field_entries=[
            team("Payments"),
            {"custom_field_id": seed.FIELD_ROOT_CAUSE, "values": [{"value_text": "Bad config"}]},
        ],
        role_assignments={seed.ROLE_LEAD: seed.USER_CHIDI},
        created_at=base + timedelta(hours=1),
    )
    state.create_incident(
        "Search index lagging behind writes",
        status_id=seed.STATUS_MONITORING,
        severity_id=severity(seed.SEVERITY_MINOR),
        custom_field_entries=[team("Data")],
        created_at=base + timedelta(days=1),
    )
    state.create_incident(
        "Elevated 5xx on the public API",
        status_id=seed.STATUS_TRIAGE,
        severity_id=severity(seed.SEVERITY_CRITICAL),
        custom_field_entries=[team("Platform")],
        created_at=base + timedelta(days=2),
    )
    state.create_incident(
        "Credential exposed in CI logs",
        status_id=seed.STATUS_FIXING,
        severity_id=severity(seed.SEVERITY_CRITICAL),
        visibility="private",
        type_id=seed.TYPE_SECURITY,
        role_assignments={seed.ROLE_LEAD: seed.USER_ALICE},
        created_at=base + timedelta(days=3),
    )
