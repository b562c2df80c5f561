"""The Temporal worker entry point: connects, registers workflows and activities, runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import PollerBehaviorAutoscaling, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import debug
from activities.agents import AgentActivities, ChainedAgentRegistry, StaticAgentRegistry
from activities.catalogue import default_catalogue
from activities.credentials import ChainedCredentials, from_settings
from activities.definitions import DefinitionActivities
from activities.http import HttpActivities, no_hosts
from activities.incident_io.budget import CallBudget, CatalogueCache
from activities.incident_io.nodes import IncidentIoActivities
from activities.incident_io.preferences import Preferences, WorkspacePreferences
from activities.incident_io.sync import SyncActivities
from activities.linear import LinearActivities
from activities.slack import SlackActivities
from settings import SANDBOX_TOKEN, Settings
from stack import worker_health
from stack.backoff import migrate_with_backoff
from stack.worker_health import WorkerState
from store import Store
from telemetry import logs, metrics, tracing
from temporal_client import TemporalConfigError, connect_with_backoff, incident_hinter
from workflows.incident import IncidentWorkflow
from workflows.interpreter import InterpreterWorkflow
from workflows.sync import WorkspaceSyncWorkflow

log = logging.getLogger(__name__)

WORKFLOWS: list[type] = [InterpreterWorkflow, IncidentWorkflow, WorkspaceSyncWorkflow]
# rensei's own packages are deterministic at import time and hold no per-run module state,
# so the sandbox takes them from the host process instead of re-executing them (and
# rebuilding their pydantic models) for every new run. The tests run the workflows under
# the default, stricter restrictions, which catch a non-deterministic call.
PASSTHROUGH_MODULES = ("workflows", "interpreter", "contracts", "activities")


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
    return metrics.provider_client(
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
    http_node = HttpActivities(
        credentials,
        shared,
        allowed_hosts=store.http_hosts if store else no_hosts,
        loopback=settings.sandbox is True or settings.sandbox_incident_io_url is not None,
    )
    return [debug.echo, *slack.all(), *linear.all(), *agents.all(), *http_node.all()]


def incident_io_activities(
    settings: Settings,
    *,
    http: httpx.AsyncClient | None = None,
    credentials: ChainedCredentials | None = None,
    store: Store | None = None,
) -> IncidentIoActivities:
    """The incident.io nodes with this process's HTTP client, catalogue cache and call budget."""
    return IncidentIoActivities(
        credentials or ChainedCredentials([from_settings(settings)]),
        http or metrics.provider_client(timeout=settings.incident_io_timeout),
        lambda _workspace: settings.incident_io_base_url,
        cache=CatalogueCache(ttl=settings.incident_io_catalogue_ttl),
        budget=CallBudget(per_minute=settings.incident_io_call_budget_per_minute),
        preferences=preferences_from(store) if store else None,
        max_inline_wait=settings.incident_io_max_inline_wait,
        sandbox=(SANDBOX_TOKEN, settings.sandbox_incident_io_url)
        if settings.sandbox_incident_io_url
        else None,
    )


def preferences_from(store: Store) -> Preferences:
    """A workspace's severity overrides and team field, read from the store."""

    async def preferences(workspace: str) -> WorkspacePreferences:
        found = await store.get_workspace(workspace)
        if found is None:
            return WorkspacePreferences()
        return WorkspacePreferences(
            severity_overrides={str(k): str(v) for k, v in found.severity_overrides.items()},
            team_field=found.team_field,
        )

    return preferences


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox with rensei's packages passed through (imported once per process)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


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
    nodes = incident_io or incident_io_activities(
        settings, credentials=credentials, http=http, store=store
    )
    main = list(
        activities
        if activities is not None
        else default_activities(settings, http=http, store=store)
    )
    if store is not None:
        catalogue = default_catalogue(incident_io_task_queue=settings.incident_io_task_queue)
        definitions = DefinitionActivities(store, catalogue)
        main += [definitions.candidates, definitions.lookup]
    sync = SyncActivities(
        nodes.client,
        incident_hinter(
            client, task_queue=queue, incident_io_task_queue=settings.incident_io_task_queue
        ),
        preferences=preferences_from(store) if store else None,
        on_cursor=(lambda ws, cursor: store.set_sync_cursor(ws, "incident_io", cursor))
        if store
        else None,
    )
    return [
        Worker(
            client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=[*main, *sync.local()],
            workflow_runner=workflow_runner(),
            max_cached_workflows=settings.worker_max_cached_workflows,
            max_concurrent_workflow_tasks=min(100, settings.worker_max_cached_workflows),
            workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
            activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        ),
        Worker(
            client,
            task_queue=settings.incident_io_task_queue,
            activities=[*nodes.all(), *sync.all()],
            max_task_queue_activities_per_second=settings.incident_io_activities_per_second,
            activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        ),
    ]


def sdk_runtime(settings: Settings) -> tuple[Runtime | None, str | None]:
    """The worker's Temporal runtime, serving the SDK's metrics on a loopback port (read by
    the worker's own endpoint), and that address; (None, None) with metrics off."""
    if not settings.worker_metrics_port:
        return None, None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    # Counters end in _total and durations are seconds, as Prometheus' conventions (and
    # rensei's own series) have them.
    prometheus = PrometheusConfig(
        bind_address=address, counters_total_suffix=True, durations_as_seconds=True
    )
    telemetry = TelemetryConfig(metrics=prometheus)
    return Runtime(telemetry=telemetry), address


async def run(settings: Settings) -> None:
    """Waits for the database and Temporal, then runs the workers until cancelled."""
    runtime, sdk_address = sdk_runtime(settings)
    server = None
    if sdk_address is not None:
        server = await metrics.serve_worker_metrics(
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            sdk=metrics.sdk_fetcher(sdk_address),
        )
        log.info(
            "worker metrics on http://%s:%d/metrics",
            settings.worker_metrics_host,
            settings.worker_metrics_port,
        )
    state = WorkerState()
    store = Store.from_settings(settings)
    try:
        async with worker_health.serving(settings.worker_health_port, state):
            await migrate_with_backoff(store, settings)
            state.database = True
            state.client = await connect_with_backoff(settings, runtime=runtime)
            async with http_client() as http:
                workers = build_workers(state.client, settings, store=store, http=http)
                log.info("worker polling %s on %s", settings.task_queue, settings.address)
                state.polling = True
                await asyncio.gather(*(w.run() for w in workers))
    finally:
        await store.close()
        if server is not None:
            server.close()


def main() -> None:
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    tracing.setup("rensei-worker")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(settings))
    except TemporalConfigError as exc:
        log.error("cannot connect to Temporal at %s: %s", settings.address, exc)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
