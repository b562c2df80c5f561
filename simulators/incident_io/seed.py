"""The deterministic seeded workspace: API keys, users, severities, statuses, fields, roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from settings import SANDBOX_TOKEN as SANDBOX_TOKEN  # full access, can see private incidents

VIEWER_TOKEN = "inc_6693850194d5c256760501750a6fdd2c6ab18f0c68063b0cdad269150828ca97"  # noqa: S105
"""Read-only API key: the `viewer` role and nothing else."""

SEEDED_AT = datetime(2025, 1, 6, 9, 0, 0, tzinfo=UTC)
DASHBOARD_URL = "https://app.incident.io/rensei-sandbox"
SLACK_TEAM_ID = "T07RENSEI01"


def _id(kind: str, n: int) -> str:
    # 26 Crockford base32 characters, like the ULIDs incident.io hands out.
    return f"01JB0SEED0{kind}{n:013d}"


KEY_SANDBOX = _id("KEY", 1)
KEY_VIEWER = _id("KEY", 2)

USER_ALICE = _id("MBR", 1)
USER_BOB = _id("MBR", 2)
USER_CHIDI = _id("MBR", 3)
USER_DANA = _id("MBR", 4)

SEVERITY_MINOR = _id("SEV", 1)
SEVERITY_MAJOR = _id("SEV", 2)
SEVERITY_CRITICAL = _id("SEV", 3)
SEVERITY_EMERGENCY = _id("SEV", 4)

STATUS_TRIAGE = _id("STS", 1)
STATUS_INVESTIGATING = _id("STS", 2)
STATUS_FIXING = _id("STS", 3)
STATUS_MONITORING = _id("STS", 4)
STATUS_PAUSED = _id("STS", 5)
STATUS_DOCUMENTING = _id("STS", 6)
STATUS_CLOSED = _id("STS", 7)
STATUS_DECLINED = _id("STS", 8)
STATUS_CANCELED = _id("STS", 9)
STATUS_MERGED = _id("STS", 10)

FIELD_TEAM = _id("CFD", 1)
FIELD_ROOT_CAUSE = _id("CFD", 2)
FIELD_IMPACTED_SERVICES = _id("CFD", 3)
FIELD_CATALOG_TEAM = _id("CFD", 4)
CATALOG_TYPE_TEAM = _id("CTY", 1)
ENTRY_TEAM_PLATFORM = _id("CTE", 1)
ENTRY_TEAM_PAYMENTS = _id("CTE", 2)
ENTRY_TEAM_DATA = _id("CTE", 3)
ENTRY_TEAM_MOBILE = _id("CTE", 4)

OPTION_TEAM_PLATFORM = _id("CFP", 1)
OPTION_TEAM_PAYMENTS = _id("CFP", 2)
OPTION_TEAM_DATA = _id("CFP", 3)
OPTION_TEAM_MOBILE = _id("CFP", 4)
OPTION_SERVICE_API = _id("CFP", 11)
OPTION_SERVICE_CHECKOUT = _id("CFP", 12)
OPTION_SERVICE_DATABASE = _id("CFP", 13)
OPTION_SERVICE_SEARCH = _id("CFP", 14)

ROLE_LEAD = _id("RNE", 1)
ROLE_REPORTER = _id("RNE", 2)
ROLE_COMMS = _id("RNE", 3)

TYPE_DEFAULT = _id("TYP", 1)
TYPE_SECURITY = _id("TYP", 2)

PATH_PLATFORM = _id("PTH", 1)
PATH_PAYMENTS = _id("PTH", 2)

# Which scopes each role grants. The spec names the scopes per endpoint (x-rbac-scopes) but
# does not publish this mapping; this is our reading of the role names. `incidents.edit`
# and `incidents.view_private` are simulator-only: the spec lists no scope for the edit
# endpoint, and private visibility is a permission rather than an endpoint scope.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset(
        {
            "incidents.view",
            "severities.view",
            "incident_statuses.view",
            "incident_types.view",
            "incident_roles.view",
            "custom_fields.view",
            "users.view",
            "catalog_entries.view",
        }
    ),
    "catalog_viewer": frozenset({"catalog_entries.view"}),
    "incident_creator": frozenset({"incidents.create"}),
    "incident_editor": frozenset({"incidents.edit"}),
    "global_access": frozenset({"incidents.view_private"}),
    "on_call_viewer": frozenset({"escalations.view", "escalation_paths.view"}),
    "escalation_creator": frozenset({"escalations.create", "escalations.view"}),
}


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    token: str
    roles: tuple[str, ...]

    @property
    def scopes(self) -> frozenset[str]:
        granted: set[str] = set()
        for role in self.roles:
            granted |= ROLE_SCOPES.get(role, frozenset())
        return frozenset(granted)


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    slack_user_id: str
    role: str


@dataclass(frozen=True)
class Severity:
    id: str
    name: str
    description: str
    rank: int


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    description: str
    rank: int
    category: str


@dataclass(frozen=True)
class Option:
    id: str
    value: str
    sort_key: int


@dataclass(frozen=True)
class CustomField:
    id: str
    name: str
    description: str
    field_type: str
    options: tuple[Option, ...] = ()
    catalog_type_id: str | None = None
    """Set on catalog-backed fields: their values are entries of that catalog type."""


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    catalog_type_id: str
    name: str
    external_id: str
    aliases: tuple[str, ...]
    rank: int

    def answers_to(self, ident: str) -> bool:
        """A value_catalog_entry_id may be the entry's ID, external ID or an alias (spec,
        CustomFieldValuePayloadV2.value_catalog_entry_id)."""
        return ident in (self.id, self.external_id, *self.aliases)


@dataclass(frozen=True)
class CatalogType:
    id: str
    name: str
    type_name: str
    description: str


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    shortform: str
    description: str
    instructions: str
    role_type: str


@dataclass(frozen=True)
class IncidentType:
    id: str
    name: str
    description: str
    is_default: bool
    private_incidents_only: bool
    create_in_triage: str


@dataclass(frozen=True)
class EscalationPath:
    id: str
    name: str
    user_ids: tuple[str, ...]


@dataclass(frozen=True)
class Workspace:
    """Configuration that does not change while the simulator runs."""

    keys: tuple[ApiKey, ...]
    users: tuple[User, ...]
    severities: tuple[Severity, ...]
    statuses: tuple[Status, ...]
    custom_fields: tuple[CustomField, ...]
    roles: tuple[Role, ...]
    incident_types: tuple[IncidentType, ...]
    escalation_paths: tuple[EscalationPath, ...]
    catalog_types: tuple[CatalogType, ...] = ()
    catalog_entries: tuple[CatalogEntry, ...] = ()
    dashboard_url: str = DASHBOARD_URL
    slack_team_id: str = SLACK_TEAM_ID
    created_at: datetime = SEEDED_AT

    def key_by_token(self, token: str) -> ApiKey | None:
        return next((k for k in self.keys if k.token == token), None)

    def user(self, user_id: str) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    def find_user(self, *, id: str | None, email: str | None, slack: str | None) -> User | None:
        for user in self.users:
            if (id and user.id == id) or (email and user.email == email):
                return user
            if slack and user.slack_user_id == slack:
                return user
        return None

    def severity(self, severity_id: str) -> Severity | None:
        return next((s for s in self.severities if s.id == severity_id), None)

    def status(self, status_id: str) -> Status | None:
        return next((s for s in self.statuses if s.id == status_id), None)

    def custom_field(self, field_id: str) -> CustomField | None:
        return next((f for f in self.custom_fields if f.id == field_id), None)

    def catalog_type(self, type_id: str) -> CatalogType | None:
        return next((c for c in self.catalog_types if c.id == type_id), None)

    def catalog_entry(self, type_id: str, ident: str) -> CatalogEntry | None:
        """The entry of ``type_id`` whose ID, external ID or alias is ``ident``."""
        return next(
            (
                e
                for e in self.catalog_entries
                if e.catalog_type_id == type_id and e.answers_to(ident)
            ),
            None,
        )

    def team_field(self) -> CustomField:
        """The field the seeded incidents record their team in."""
        return next(f for f in self.custom_fields if f.id in (FIELD_TEAM, FIELD_CATALOG_TEAM))

    def role(self, role_id: str) -> Role | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def incident_type(self, type_id: str) -> IncidentType | None:
        return next((t for t in self.incident_types if t.id == type_id), None)

    def escalation_path(self, path_id: str) -> EscalationPath | None:
        return next((p for p in self.escalation_paths if p.id == path_id), None)


TEAM_NAMES = ("Platform", "Payments", "Data", "Mobile")


def build_workspace(
    *, severity_names: Sequence[str] | None = None, catalog_team_field: str | None = None
) -> Workspace:
    """Returns the seeded workspace; every call with the same arguments returns equal data.

    Args:
        severity_names: the workspace's severities, most severe first (e.g. ``SEV0`` ..
            ``SEV4``), instead of Emergency, Critical, Major, Minor. The least severe gets
            rank 1 and id ``SEVERITY_MINOR``, the next ``SEVERITY_MAJOR``, and so on.
        catalog_team_field: replaces the option field "Team" by a catalog-backed field of
            this name (e.g. "Affected Team") whose values are entries of a "Team" catalog
            type, the way incident.io models teams.
    """
    ws = _default_workspace()
    if severity_names is not None:
        count = len(severity_names)
        ws = replace(
            ws,
            severities=tuple(
                Severity(_id("SEV", count - i), name, f"{name} incidents.", count - i)
                for i, name in enumerate(severity_names)
            ),
        )
    if catalog_team_field is not None:
        ws = replace(
            ws,
            custom_fields=(
                CustomField(
                    FIELD_CATALOG_TEAM,
                    catalog_team_field,
                    "The team that owns the affected service",
                    "single_select",
                    catalog_type_id=CATALOG_TYPE_TEAM,
                ),
                *(f for f in ws.custom_fields if f.id != FIELD_TEAM),
            ),
            catalog_types=(
                CatalogType(CATALOG_TYPE_TEAM, "Team", 'Custom["Team"]', "Teams of the company"),
            ),
            catalog_entries=tuple(
                CatalogEntry(
                    entry,
                    CATALOG_TYPE_TEAM,
                    name,
                    f"team-{name.lower()}",
                    (f"{name.lower()}@rensei.example",),
                    rank,
                )
                for rank, (entry, name) in enumerate(
                    zip(
                        (
                            ENTRY_TEAM_PLATFORM,
                            ENTRY_TEAM_PAYMENTS,
                            ENTRY_TEAM_DATA,
                            ENTRY_TEAM_MOBILE,
                        ),
                        TEAM_NAMES,
                        strict=True,
                    )
                )
            ),
        )
    return ws


def _default_workspace() -> Workspace:
    return Workspace(
        keys=(
            ApiKey(
                KEY_SANDBOX,
                "rensei sandbox",
                SANDBOX_TOKEN,
                (
                    "viewer",
                    "incident_creator",
                    "incident_editor",
                    "global_access",
                    "on_call_viewer",
                    "escalation_creator",
                    "post_incident_flow_opt_out",
                ),
            ),
            ApiKey(KEY_VIEWER, "rensei read-only", VIEWER_TOKEN, ("viewer",)),
        ),
        users=(
            User(USER_ALICE, "Alice Ortega", "alice@rensei.example", "U07ALICE001", "owner"),
            User(USER_BOB, "Bob Nakamura", "bob@rensei.example", "U07BOB00002", "responder"),
            User(USER_CHIDI, "Chidi Okafor", "chidi@rensei.example", "U07CHIDI003", "responder"),
            User(USER_DANA, "Dana Whitfield", "dana@rensei.example", "U07DANA0004", "viewer"),
        ),
        severities=(
            Severity(SEVERITY_MINOR, "Minor", "Issues with low impact, e.g. a minor bug.", 1),
            Severity(SEVERITY_MAJOR, "Major", "Issues that degrade the product for many.", 2),
            Severity(SEVERITY_CRITICAL, "Critical", "Core functionality is unavailable.", 3),
            Severity(SEVERITY_EMERGENCY, "Emergency", "Total outage or data loss.", 4),
        ),
        statuses=(
            Status(STATUS_TRIAGE, "Triage", "Is this a real incident?", 1, "triage"),
            Status(STATUS_INVESTIGATING, "Investigating", "Finding the cause.", 2, "live"),
            Status(STATUS_FIXING, "Fixing", "The cause is known; fixing it.", 3, "live"),
            Status(STATUS_MONITORING, "Monitoring", "A fix is out; watching it.", 4, "live"),
            Status(STATUS_PAUSED, "Paused", "Work is paused.", 5, "paused"),
            Status(STATUS_DOCUMENTING, "Documenting", "Writing the post-mortem.", 6, "learning"),
            Status(STATUS_CLOSED, "Closed", "The incident is over.", 7, "closed"),
            Status(STATUS_DECLINED, "Declined", "Not an incident after all.", 8, "declined"),
            Status(STATUS_CANCELED, "Canceled", "Opened by mistake.", 9, "canceled"),
            Status(STATUS_MERGED, "Merged", "Merged into another incident.", 10, "merged"),
        ),
        custom_fields=(
            CustomField(
                FIELD_TEAM,
                "Team",
                "Which team owns the response",
                "single_select",
                (
                    Option(OPTION_TEAM_PLATFORM, "Platform", 10),
                    Option(OPTION_TEAM_PAYMENTS, "Payments", 20),
                    Option(OPTION_TEAM_DATA, "Data", 30),
                    Option(OPTION_TEAM_MOBILE, "Mobile", 40),
                ),
            ),
            CustomField(FIELD_ROOT_CAUSE, "Root Cause", "What caused the incident", "text"),
            CustomField(
                FIELD_IMPACTED_SERVICES,
                "Impacted Services",
                "Services that customers saw degrade",
                "multi_select",
                (
                    Option(OPTION_SERVICE_API, "API", 10),
                    Option(OPTION_SERVICE_CHECKOUT, "Checkout", 20),
                    Option(OPTION_SERVICE_DATABASE, "Database", 30),
                    Option(OPTION_SERVICE_SEARCH, "Search", 40),
                ),
            ),
        ),
        roles=(
            Role(
                ROLE_LEAD,
                "Incident Lead",
                "lead",
                "The person coordinating the response.",
                "Keep the channel informed and delegate work.",
                "lead",
            ),
            Role(
                ROLE_REPORTER,
                "Reporter",
                "",
                "The person who reported the incident.",
                "",
                "reporter",
            ),
            Role(
                ROLE_COMMS,
                "Communications Lead",
                "comms",
                "Keeps customers and stakeholders informed.",
                "Post a status page update every 30 minutes.",
                "custom",
            ),
        ),
        incident_types=(
            IncidentType(TYPE_DEFAULT, "Default", "Everyday incidents.", True, False, "optional"),
            IncidentType(TYPE_SECURITY, "Security", "Security incidents.", False, True, "always"),
        ),
        escalation_paths=(
            EscalationPath(PATH_PLATFORM, "Platform on-call", (USER_ALICE, USER_BOB)),
            EscalationPath(PATH_PAYMENTS, "Payments on-call", (USER_CHIDI,)),
        ),
    )
