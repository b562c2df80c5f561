"""The workspace store: workspaces, integrations, encrypted credentials, agents, definitions."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, delete, event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from interpreter.definitions import AdmittedDefinition
from settings import Settings
from store import crypto
from store.models import (
    AgentCardRow,
    CredentialRow,
    DefinitionRow,
    HttpHostRow,
    IntegrationRow,
    WorkspaceRow,
    utcnow,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_WORKSPACE = "default"
INTEGRATION_KINDS = ("incident_io", "slack", "linear")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?:\*\.)?(?:{_LABEL}\.)*{_LABEL}$")
MAX_HTTP_HOSTS = 200


class StoreError(Exception):
    """Base of the store's errors that callers show to users."""


class InvalidNameError(StoreError, ValueError):
    """A workspace, definition or agent name that the store does not accept."""


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    severity_overrides: dict[str, Any]
    created_at: datetime
    team_field: str | None = None
    """The incident.io custom field (name or id) that holds the team; None: by its name."""


@dataclass(frozen=True)
class Integration:
    workspace: str
    kind: str
    status: str
    display: dict[str, Any]
    connected_at: datetime | None
    last_event_at: datetime | None
    sync_cursor: str | None


@dataclass(frozen=True)
class AgentCard:
    workspace: str
    name: str
    url: str
    updated_at: datetime


@dataclass(frozen=True)
class Definition:
    workspace: str
    name: str
    version: int
    yaml: str
    enabled: bool
    created_at: datetime


def database_url(settings: Settings) -> str:
    """The async SQLAlchemy URL: ``RENSEI_DATABASE_URL``, or SQLite in the data directory."""
    url = settings.database_url
    if not url:
        return f"sqlite+aiosqlite:///{Path(settings.data_dir).resolve() / 'rensei.db'}"
    for plain, driver in (
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


SQLITE_BUSY_TIMEOUT = 15.0  # seconds a connection waits for another process's write lock


def create_engine(url: str, *, connect_args: Mapping[str, Any] | None = None) -> AsyncEngine:
    """An async engine; on SQLite, every connection has foreign keys on, WAL and a busy timeout.

    The API processes and the workers share one SQLite file under ``make run``: in WAL mode
    readers never block the writer, and a writer waits up to ``SQLITE_BUSY_TIMEOUT`` for the
    lock instead of failing at once with ``database is locked``.
    """
    args = dict(connect_args or {})
    if url.startswith("sqlite"):
        args.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    engine = create_async_engine(url, connect_args=args)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
            cursor.close()

    return engine


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything the store writes is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe_aware(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.match(value):
        raise InvalidNameError(f"{what} {value!r} is not valid (letters, digits, '-', '_' or '.')")
    return value


class Store:
    """Async access to every table; returns frozen snapshots, never live ORM rows."""

    def __init__(self, engine: AsyncEngine, keyring: crypto.Keyring) -> None:
        self.engine = engine
        self.keyring = keyring
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store of ``settings``; creates the data directory and keyring file when needed."""
        if not settings.database_url:
            Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        return cls(create_engine(database_url(settings)), crypto.load_keyring(settings))

    async def migrate(self) -> None:
        """Brings the schema to the newest migration (safe to call at every start).

        Every API and worker replica migrates as it starts. On PostgreSQL a transaction-scoped
        advisory lock makes replicas that start together take turns: the first migrates, the
        others then find the schema at head (without it they fail on duplicate tables).
        """
        async with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await connection.run_sync(_upgrade)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        """One round trip to the database; raises ``SQLAlchemyError`` when it does not answer."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    # --- workspaces

    async def ensure_workspace(
        self, workspace: str = DEFAULT_WORKSPACE, *, name: str | None = None
    ) -> Workspace:
        """Returns the workspace, creating it first when it does not exist."""
        _check(_SLUG, workspace, "workspace id")
        try:
            async with self._sessions.begin() as session:
                row = await session.get(WorkspaceRow, workspace)
                if row is None:
                    row = WorkspaceRow(
                        id=workspace,
                        name=name or workspace,
                        severity_overrides={},
                        created_at=utcnow(),
                    )
                    session.add(row)
                    await session.flush()
                return _workspace(row)
        except IntegrityError:  # created concurrently by another writer: read theirs
            async with self._sessions() as session:
                return _workspace(await session.get_one(WorkspaceRow, workspace))

    async def get_workspace(self, workspace: str) -> Workspace | None:
        async with self._sessions() as session:
            row = await session.get(WorkspaceRow, workspace)
            return None if row is None else _workspace(row)

    async def list_workspaces(self) -> list[str]:
        """Every workspace id, sorted."""
        async with self._sessions() as session:
            return sorted(await session.scalars(select(WorkspaceRow.id)))

    async def get(self, workspace: str, integration: str, name: str) -> str | None:
        """A ``CredentialProvider``: the decrypted credential, or None."""
        return await self.get_credential(workspace, integration, name)

    async def set_severity_overrides(
        self, workspace: str, overrides: Mapping[str, str]
    ) -> Workspace:
        await self.ensure_workspace(workspace)
        async with self._sessions.begin() as session:
            row = await session.get_one(WorkspaceRow, workspace)
            row.severity_overrides = dict(overrides)
            return _workspace(row)

    async def set_team_field(self, workspace: str, team_field: str | None) -> Workspace:
        """Chooses the incident.io custom field that holds the team (None: found by name)."""
        await self.ensure_workspace(workspace)
        async with self._sessions.begin() as session:
            row = await session.get_one(WorkspaceRow, workspace)
            row.team_field = team_field
            return _workspace(row)

    # --- integrations

    async def upsert_integration(
        self,
        workspace: str,
        kind: str,
        *,
        status: str = "connected",
        display: Mapping[str, Any] | None = None,
        connected_at: datetime | None = None,
    ) -> Integration:
        """Creates or updates an integration; a new connection resets the event time and cursor."""
        if kind not in INTEGRATION_KINDS:
            raise InvalidNameError(
                f"unknown integration {kind!r} (one of {', '.join(INTEGRATION_KINDS)})"
            )
        await self.ensure_workspace(workspace)
        async with self._sessions.begin() as session:
            row = await session.get(IntegrationRow, (workspace, kind))
            if row is None:
                row = IntegrationRow(workspace_id=workspace, kind=kind, display={})
                session.add(row)
            row.status = status
            row.display = dict(display or {})
            row.connected_at = connected_at or utcnow()
            await session.flush()
            return _integration(row)

    async def get_integration(self, workspace: str, kind: str) -> Integration | None:
        async with self._sessions() as session:
            row = await session.get(IntegrationRow, (workspace, kind))
            return None if row is None else _integration(row)

    async def list_integrations(self, workspace: str) -> list[Integration]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(IntegrationRow)
                .where(IntegrationRow.workspace_id == workspace)
                .order_by(IntegrationRow.kind)
            )
            return [_integration(r) for r in rows]

    async def record_integration_event(
        self,
        workspace: str,
        kind: str,
        *,
        at: datetime | None = None,
        sync_cursor: str | None = None,
    ) -> None:
        """Notes that an event arrived (webhook or sync) and, optionally, the new sync cursor."""
        async with self._sessions.begin() as session:
            row = await session.get(IntegrationRow, (workspace, kind))
            if row is None:
                return
            row.last_event_at = at or utcnow()
            if sync_cursor is not None:
                row.sync_cursor = sync_cursor

    async def set_sync_cursor(self, workspace: str, kind: str, cursor: str | None) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(IntegrationRow, (workspace, kind))
            if row is not None:
                row.sync_cursor = cursor

    async def delete_integration(self, workspace: str, kind: str) -> bool:
        """Removes the integration and every credential of it; False when there was none."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(CredentialRow).where(
                    CredentialRow.workspace_id == workspace, CredentialRow.integration == kind
                )
            )
            result = await session.execute(
                delete(IntegrationRow).where(
                    IntegrationRow.workspace_id == workspace, IntegrationRow.kind == kind
                )
            )
            return bool(getattr(result, "rowcount", 0))

    # --- credentials

    async def put_credential(
        self, workspace: str, integration: str, field: str, value: str
    ) -> None:
        """Stores ``value`` encrypted under the current master key, bound to this row."""
        await self.ensure_workspace(workspace)
        sealed = crypto.seal(
            self.keyring, value, workspace=workspace, integration=integration, field=field
        )
        async with self._sessions.begin() as session:
            row = await session.get(CredentialRow, (workspace, integration, field))
            if row is None:
                row = CredentialRow(workspace_id=workspace, integration=integration, field=field)
                session.add(row)
            row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
            row.updated_at = utcnow()

    async def get_credential(self, workspace: str, integration: str, field: str) -> str | None:
        """The decrypted value or None; CredentialDecryptError when it cannot be opened."""
        async with self._sessions() as session:
            row = await session.get(CredentialRow, (workspace, integration, field))
            if row is None:
                return None
            sealed = crypto.Sealed(key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext)
        return crypto.open_sealed(
            self.keyring, sealed, workspace=workspace, integration=integration, field=field
        )

    async def credential_fields(self, workspace: str, integration: str) -> list[str]:
        """The names of the stored fields of one integration (no values)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CredentialRow.field)
                .where(
                    CredentialRow.workspace_id == workspace,
                    CredentialRow.integration == integration,
                )
                .order_by(CredentialRow.field)
            )
            return list(rows)

    async def delete_credential(
        self, workspace: str, integration: str, field: str | None = None
    ) -> int:
        """Deletes one field, or every field of the integration when ``field`` is None."""
        condition = [
            CredentialRow.workspace_id == workspace,
            CredentialRow.integration == integration,
        ]
        if field is not None:
            condition.append(CredentialRow.field == field)
        async with self._sessions.begin() as session:
            result = await session.execute(delete(CredentialRow).where(*condition))
            return int(getattr(result, "rowcount", 0))

    async def reencrypt_credentials(self, keyring: crypto.Keyring) -> int:
        """Re-seals every credential under ``keyring``'s current key in one transaction.

        Every record is opened with the keys this store holds, so a credential that does
        not decrypt stops the rotation before anything is written.
        """
        async with self._sessions.begin() as session:
            rows = list(await session.scalars(select(CredentialRow).with_for_update()))
            for row in rows:
                where = {
                    "workspace": row.workspace_id,
                    "integration": row.integration,
                    "field": row.field,
                }
                sealed = crypto.Sealed(
                    key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext
                )
                plain = crypto.open_sealed(keyring, sealed, **where)
                fresh = crypto.seal(keyring, plain, **where)
                row.key_id, row.nonce, row.ciphertext = fresh.key_id, fresh.nonce, fresh.ciphertext
                row.updated_at = utcnow()
        self.keyring = keyring
        return len(rows)

    # --- agent cards

    async def put_agent_card(self, workspace: str, name: str, url: str) -> AgentCard:
        _check(_NAME, name, "agent name")
        await self.ensure_workspace(workspace)
        async with self._sessions.begin() as session:
            row = await session.get(AgentCardRow, (workspace, name))
            if row is None:
                row = AgentCardRow(workspace_id=workspace, name=name)
                session.add(row)
            row.url = url
            row.updated_at = utcnow()
            await session.flush()
            return _agent(row)

    async def get_agent_card(self, workspace: str, name: str) -> AgentCard | None:
        async with self._sessions() as session:
            row = await session.get(AgentCardRow, (workspace, name))
            return None if row is None else _agent(row)

    async def list_agent_cards(self, workspace: str) -> list[AgentCard]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AgentCardRow)
                .where(AgentCardRow.workspace_id == workspace)
                .order_by(AgentCardRow.name)
            )
            return [_agent(r) for r in rows]

    async def delete_agent_card(self, workspace: str, name: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(AgentCardRow).where(
                    AgentCardRow.workspace_id == workspace, AgentCardRow.name == name
                )
            )
            return bool(getattr(result, "rowcount", 0))

    # --- definitions

    async def put_definition(
        self, workspace: str, admitted: AdmittedDefinition, *, enabled: bool | None = None
    ) -> int:
        """Stores an admitted definition as its next version; returns the version number.

        The store refuses no text itself: a definition is admitted (checked and compiled
        against a catalogue, ``interpreter.definitions.admit``) before it is stored. A new
        version keeps the enabled flag of the one before (``enabled`` overrides it; a new
        definition is enabled unless ``enabled`` is False).

        Raises:
            InvalidNameError: the definition's name is not one the store accepts.
        """
        name = check_definition_name(admitted.name)
        await self.ensure_workspace(workspace)
        for _attempt in range(5):
            try:
                return await self._insert_definition(
                    workspace, name, admitted.text, enabled=enabled
                )
            except IntegrityError:  # another writer took this version number; take the next
                await asyncio.sleep(0)
        raise StoreError(f"definition {name!r} is being written concurrently; try again")

    async def _insert_definition(
        self, workspace: str, name: str, yaml: str, *, enabled: bool | None
    ) -> int:
        async with self._sessions.begin() as session:
            latest = await session.scalar(
                select(DefinitionRow)
                .where(DefinitionRow.workspace_id == workspace, DefinitionRow.name == name)
                .order_by(DefinitionRow.version.desc())
                .limit(1)
            )
            version = 1 if latest is None else latest.version + 1
            if enabled is None:
                enabled = True if latest is None else latest.enabled
            session.add(
                DefinitionRow(
                    workspace_id=workspace,
                    name=name,
                    version=version,
                    yaml=yaml,
                    enabled=enabled,
                    valid=True,
                    diagnostics="",
                    created_at=utcnow(),
                )
            )
            await session.flush()
            return version

    async def get_definition(
        self, workspace: str, name: str, version: int | None = None
    ) -> Definition | None:
        """One version of a definition, the newest when ``version`` is None."""
        query = select(DefinitionRow).where(
            DefinitionRow.workspace_id == workspace, DefinitionRow.name == name
        )
        if version is not None:
            query = query.where(DefinitionRow.version == version)
        async with self._sessions() as session:
            row = await session.scalar(query.order_by(DefinitionRow.version.desc()).limit(1))
            return None if row is None else _definition(row)

    async def latest_definitions(
        self, workspace: str, *, enabled_only: bool = False
    ) -> list[Definition]:
        """The newest version of every definition of the workspace, by name."""
        newest = (
            select(DefinitionRow.name, func.max(DefinitionRow.version).label("version"))
            .where(DefinitionRow.workspace_id == workspace)
            .group_by(DefinitionRow.name)
            .subquery()
        )
        query = (
            select(DefinitionRow)
            .join(
                newest,
                (DefinitionRow.name == newest.c.name) & (DefinitionRow.version == newest.c.version),
            )
            .where(DefinitionRow.workspace_id == workspace)
            .order_by(DefinitionRow.name)
        )
        if enabled_only:
            query = query.where(DefinitionRow.enabled.is_(True))
        async with self._sessions() as session:
            return [_definition(r) for r in await session.scalars(query)]

    async def set_definition_enabled(self, workspace: str, name: str, enabled: bool) -> bool:
        """Enables or disables the newest version of a definition; False when there is none."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(DefinitionRow)
                .where(DefinitionRow.workspace_id == workspace, DefinitionRow.name == name)
                .order_by(DefinitionRow.version.desc())
                .limit(1)
            )
            if row is None:
                return False
            row.enabled = enabled
            return True

    async def delete_definition(self, workspace: str, name: str) -> int:
        """Deletes every version of a definition; returns how many there were.

        Runs already started keep going: each carries its compiled plan.
        """
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(DefinitionRow).where(
                    DefinitionRow.workspace_id == workspace, DefinitionRow.name == name
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # --- the http.request allowlist

    async def set_http_hosts(self, workspace: str, hosts: Sequence[str]) -> list[str]:
        """Replaces the workspace's allowlist; returns it normalised (lowercase, sorted)."""
        wanted = sorted({h.strip().lower().rstrip(".") for h in hosts})
        if len(wanted) > MAX_HTTP_HOSTS:
            raise InvalidNameError(f"at most {MAX_HTTP_HOSTS} hosts may be allowed")
        for host in wanted:
            if len(host) > 253 or not _HOST.match(host):
                raise InvalidNameError(
                    f"host {host!r} is not valid (a host name such as status.example.com, "
                    "or *.example.com for its subdomains; no scheme, port or path)"
                )
        await self.ensure_workspace(workspace)
        async with self._sessions.begin() as session:
            await session.execute(delete(HttpHostRow).where(HttpHostRow.workspace_id == workspace))
            session.add_all(
                HttpHostRow(workspace_id=workspace, host=h, created_at=utcnow()) for h in wanted
            )
        return wanted

    async def http_hosts(self, workspace: str) -> list[str]:
        """The hosts ``http.request`` may call for the workspace (none: deny everything)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(HttpHostRow.host)
                .where(HttpHostRow.workspace_id == workspace)
                .order_by(HttpHostRow.host)
            )
            return list(rows)


def check_definition_name(name: str) -> str:
    """``name`` when the store accepts it as a definition's name (callers check it first).

    Raises:
        InvalidNameError: it does not.
    """
    return _check(_NAME, name, "definition name")


MIGRATION_LOCK_KEY = int.from_bytes(b"rensei-m", "big") >> 1
"""The advisory-lock key of migrations: any fixed bigint; this one spells rensei's name."""


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _workspace(row: WorkspaceRow) -> Workspace:
    return Workspace(
        id=row.id,
        name=row.name,
        severity_overrides=dict(row.severity_overrides or {}),
        created_at=_aware(row.created_at),
        team_field=row.team_field,
    )


def _integration(row: IntegrationRow) -> Integration:
    return Integration(
        workspace=row.workspace_id,
        kind=row.kind,
        status=row.status,
        display=dict(row.display or {}),
        connected_at=_maybe_aware(row.connected_at),
        last_event_at=_maybe_aware(row.last_event_at),
        sync_cursor=row.sync_cursor,
    )


def _agent(row: AgentCardRow) -> AgentCard:
    return AgentCard(
        workspace=row.workspace_id, name=row.name, url=row.url, updated_at=_aware(row.updated_at)
    )


def _definition(row: DefinitionRow) -> Definition:
    return Definition(
        workspace=row.workspace_id,
        name=row.name,
        version=row.version,
        yaml=row.yaml,
        enabled=row.enabled,
        created_at=_aware(row.created_at),
    )
