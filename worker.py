"""The Temporal worker entry point: connects, registers workflows and activities, runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from sqlalchemy.exc import InterfaceError, OperationalError
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities import debug
from activities.agents import AgentActivities, ChainedAgentRegistry, StaticAgentRegistry
from activities.catalogue import default_catalogue
from activities.credentials import ChainedCredentials, from_settings
from activities.definitions import DefinitionActivities
from activities.incident_io.budget import CallBudget, CatalogueCache
from activities.incident_io.nodes import IncidentIoActivities
from activities.incident_io.sync import SyncActivities
from activities.linear import LinearActivities
from activities.slack import SlackActivities
from settings import Settings
from simulators.incident_io.seed import SANDBOX_TOKEN
from stack import worker_health
from stack.backoff import Backoff, until_up
from stack.worker_health import WorkerState
from store import Store
from store.codec import data_converter
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow
from workflows.sync import WorkspaceSyncWorkflow

log = logging.getLogger(__name__)

WORKFLOWS: list[type] = [InterpreterWorkflow, IncidentWorkflow, WorkspaceSyncWorkflow]


async def connect(settings: Settings) -> Client:
    """A client for the configured Temporal frontend, with rensei's data converter.

    With ``RENSEI_ENCRYPT_PAYLOADS=1`` every payload is AES-GCM encrypted under the master
    key; every process (worker, API, CLI) connects through here, so they all agree.
    """
    return await Client.connect(
        settings.address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )


# Client.connect raises RuntimeError when the frontend does not answer; RPCError when it
# answers but is not serving yet (a cluster still starting).
TEMPORAL_DOWN: tuple[type[BaseException], ...] = (RuntimeError, RPCError, OSError, TimeoutError)
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    OSError,
    TimeoutError,
)


async def connect_with_backoff(settings: Settings) -> Client:
    """``connect(settings)``, tried again with capped exponential backoff until Temporal answers."""
    return await until_up(
        lambda: connect(settings),
        what="Temporal",
        where=settings.address,
        transient=TEMPORAL_DOWN,
        backoff=Backoff(cap=settings.reconnect_max_interval),
        logger=log,
    )


async def migrate_with_backoff(store: Store, settings: Settings) -> None:
    """Migrates the store, waiting for the database with capped exponential backoff."""
    await until_up(
        store.migrate,
        what="the database",
        where=store.engine.url.render_as_string(hide_password=True),
        transient=DATABASE_DOWN,
        backoff=Backoff(cap=settings.reconnect_max_interval),
        logger=log,
    )


class StoreAgentRegistry:
    """The workspace's agent cards as stored from the settings page (or by sandbox mode)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def url(self, workspace: str, name: str) -> str | None:
        card = await self.store.get_agent_card(workspace, name)
        return None if card is None else card.url


def credential_chain(settings: Settings, store: Store | None) -> ChainedCredentials:
    """The store first (what the settings page saved), then the ``RENSEI_*`` variables."""
    return ChainedCredentials(
        [store, from_settings(settings)] if store else [from_settings(settings)]
    )


def http_client() -> httpx.AsyncClient:
    """The HTTP client every provider shares (connection pool, timeouts); close it on exit."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(20.0, connect=5.0),
        headers={"User-Agent": "rensei"},
        follow_redirects=False,
    )


def default_activities(
    settings: Settings, *, http: httpx.AsyncClient | None = None, store: Store | None = None
) -> list[Callable[..., Any]]:
    """Every activity rensei ships, bound to clients built from ``settings``.

    Pass ``http`` to own the client's lifetime (``run`` does); otherwise one is created
    and lives as long as the worker process. With ``store``, credentials and agent cards
    are read from it first.
    """
    shared = http or http_client()
    credentials = credential_chain(settings, store)
    slack = SlackActivities(credentials, shared, base_url=settings.slack_base_url)
    linear = LinearActivities(credentials, shared, base_url=settings.linear_base_url)
    static = StaticAgentRegistry.from_settings(settings)
    registry = ChainedAgentRegistry([StoreAgentRegistry(store), static]) if store else static
    agents = AgentActivities(shared, registry=registry)
    return [debug.echo, *slack.all(), *linear.all(), *agents.all()]


def incident_io_activities(
    settings: Settings,
    *,
    http: httpx.AsyncClient | None = None,
    credentials: ChainedCredentials | None = None,
) -> IncidentIoActivities:
    """The incident.io nodes with this process's HTTP client, catalogue cache and call budget."""
    return IncidentIoActivities(
        credentials or ChainedCredentials([from_settings(settings)]),
        http or httpx.AsyncClient(timeout=settings.incident_io_timeout),
        lambda _workspace: settings.incident_io_base_url,
        cache=CatalogueCache(ttl=settings.incident_io_catalogue_ttl),
        budget=CallBudget(per_minute=settings.incident_io_requests_per_minute),
        max_inline_wait=settings.incident_io_max_inline_wait,
        sandbox=(SANDBOX_TOKEN, settings.sandbox_incident_io_url)
        if settings.sandbox_incident_io_url
        else None,
    )


def _overrides_from(store: Store) -> Callable[[str], Awaitable[Mapping[str, str]]]:
    """A workspace's own ``{severity name or id: "SEV-n"}`` map, read from the store."""

    async def overrides(workspace: str) -> Mapping[str, str]:
        found = await store.get_workspace(workspace)
        return {str(k): str(v) for k, v in (found.severity_overrides if found else {}).items()}

    return overrides


def build_workers(
    client: Client,
    settings: Settings,
    *,
    activities: Sequence[Callable[..., Any]] | None = None,
    task_queue: str | None = None,
    incident_io: IncidentIoActivities | None = None,
    store: Store | None = None,
    http: httpx.AsyncClient | None = None,
) -> list[Worker]:
    """The workers of one process.

    Workflows and default activities run on the main queue; the incident.io nodes run on
    their own queue, whose server-side rate (``max_task_queue_activities_per_second``)
    holds every worker process of the cluster to the workspace's call budget.
    """
    queue = task_queue or settings.task_queue
    credentials = credential_chain(settings, store)
    nodes = incident_io or incident_io_activities(settings, credentials=credentials, http=http)
    main = list(
        activities
        if activities is not None
        else default_activities(settings, http=http, store=store)
    )
    if store is not None:
        main += [DefinitionActivities(store, default_catalogue()).candidates]
    sync = SyncActivities(
        nodes.client,
        client,
        task_queue=queue,
        severity_overrides=_overrides_from(store) if store else None,
        on_cursor=(lambda ws, cursor: store.set_sync_cursor(ws, "incident_io", cursor))
        if store
        else None,
    )
    return [
        Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=main),
        Worker(
            client,
            task_queue=settings.incident_io_task_queue,
            activities=[*nodes.all(), *sync.all()],
            max_task_queue_activities_per_second=settings.incident_io_activities_per_second,
        ),
    ]


async def run(settings: Settings) -> None:
    """Waits for the database and Temporal, then runs the workers until cancelled."""
    state = WorkerState()
    store = Store.from_settings(settings)
    async with worker_health.serving(settings.worker_health_port, state):
        try:
            await migrate_with_backoff(store, settings)
            state.database = True
            state.client = await connect_with_backoff(settings)
            async with http_client() as http:
                workers = build_workers(state.client, settings, store=store, http=http)
                log.info("worker polling %s on %s", settings.task_queue, settings.address)
                state.polling = True
                await asyncio.gather(*(w.run() for w in workers))
        finally:
            await store.close()


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # ``rensei worker`` has configured WARNING already; the waits and reconnects are INFO.
    logging.getLogger().setLevel(settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))


if __name__ == "__main__":
    main()
