"""The docker-compose topology on one machine: the same commands and variables, local addresses.

The rensei services of ``docker-compose.yml`` (those running ``rensei api`` and ``rensei
worker``) are read from the file itself, so this cannot drift from it: each process runs its
service's ``command`` with the service's ``environment``. Only the variables that say *where* things are differ here (the
Temporal frontend, the database, the data volume, the bind address), plus what compose gives
per replica (each API's port, each worker's health and metrics ports: every container has
its own network namespace) and the sandbox providers. Used by
the topology test and by ``bench/chaos.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from sqlalchemy import text
from standardwebhooks import Webhook
from temporalio.client import Client

import temporal_client
from activities.definitions import store_definition
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as incident_io_app
from simulators.server import free_port, serve
from simulators.slack import SANDBOX_BOT_TOKEN, SlackState
from simulators.slack import create_app as slack_app
from simulators.slack.state import RateLimit
from stack import devserver
from stack.sandbox_mode import SandboxPlan
from store import DEFAULT_WORKSPACE, Store
from store.store import create_engine, database_url

ROOT = Path(__file__).parent.parent
COMPOSE = ROOT / "docker-compose.yml"
# What differs between a container and this machine: where things are...
WHERE = (
    "RENSEI_TEMPORAL_ADDRESS",
    "RENSEI_DATABASE_URL",
    "RENSEI_DATA_DIR",
    "RENSEI_DEFINITIONS_DIR",
    "RENSEI_API_HOST",
    "RENSEI_WORKER_METRICS_HOST",
)
# ...and the ports, one set per replica here (each container has its own network namespace).
PER_REPLICA = ("RENSEI_API_PORT", "RENSEI_WORKER_METRICS_PORT", "RENSEI_WORKER_HEALTH_PORT")
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")
SIDE_EFFECT = re.compile(r"paging for (\w+)")
DEFINITION = """\
name: page
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: page
    type: slack.post
    timeout: 5s
    inputs: {channel: "#incidents", message: "paging for {{ $trigger.incident_io.incident_id }}"}
"""
STARTUP_SECONDS = 90.0


@dataclass(frozen=True)
class Service:
    """One rensei service of docker-compose.yml: its command and its environment."""

    name: str
    command: list[str]
    environment: dict[str, str]


def compose_services(verb: str, path: Path = COMPOSE) -> list[Service]:
    """The services of docker-compose.yml that run ``rensei <verb>`` (anchors resolved)."""
    found = []
    for name, spec in yaml.safe_load(path.read_text())["services"].items():
        command = [str(part) for part in spec.get("command") or []]
        if command[:2] == ["rensei", verb]:
            environment = {str(k): str(v) for k, v in (spec.get("environment") or {}).items()}
            found.append(Service(str(name), command, environment))
    if not found:
        raise LookupError(f"docker-compose.yml has no service running 'rensei {verb}'")
    return found


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:?message}`` and ``${NAME:-default}`` from ``variables``."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise KeyError(f"docker-compose.yml needs {name}, which this harness does not set")
        return variables[name]

    return _INTERPOLATION.sub(one, value)


def local_command(service: Service) -> list[str]:
    """The service's command, with ``rensei`` being this virtualenv's entry point."""
    head, *rest = service.command
    if head == "rensei":
        head = str(Path(sys.executable).parent / "rensei")
    return [head, *rest]


@dataclass
class Process:
    """One service replica: started, killed and started again with the same command and env."""

    name: str
    service: Service
    command: list[str]
    env: dict[str, str]
    log: Path
    ready_url: str
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def restart(self) -> None:
        """``kill -9``, then start again at once (as a restart policy would)."""
        async with self.lock:
            await self.kill()
            await self.start()

    async def revive(self) -> bool:
        """Starts the process again if it exited by itself; True when it did."""
        async with self.lock:
            if self.process is None or self.process.returncode is None:
                return False
            await self.start()
            return True

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, cwd=ROOT, env=self.env, stdout=out, stderr=out
            )
        self.starts += 1

    async def kill(self) -> None:
        """``kill -9``: no shutdown, no goodbye."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                await self.kill()

    async def ready(self, http: httpx.AsyncClient) -> bool:
        try:
            return (await http.get(self.ready_url)).status_code == 200
        except httpx.TransportError:
            return False


@dataclass
class Temporal:
    """A dev server on a fixed port and database file, so it can be killed and restarted."""

    data: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        command = devserver.dev_server_command(
            port=self.port, ui_port=free_port(), db_file=self.data / "temporal.db", headless=True
        )
        self.process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        for _ in range(600):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the Temporal dev server did not start")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """Temporal, the sandbox providers, and the compose services' processes."""

    root: Path
    temporal: Temporal
    incident_io: SimulatorState
    slack: SlackState
    secret: str
    apis: list[Process]
    workers: list[Process]
    settings: Settings
    acknowledged: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)
    exits: list[str] = field(default_factory=list)

    @property
    def processes(self) -> list[Process]:
        return [*self.apis, *self.workers]

    async def client(self) -> Client:

        return await temporal_client.connect(self.settings)

    def new_incident(self) -> str:
        return self.incident_io.create_incident(f"Checkout errors {uuid.uuid4().hex[:6]}").id

    async def deliver(self, http: httpx.AsyncClient, incident_id: str, *, first: int) -> None:
        """Sends the incident's created event as incident.io does: the same webhook id on every
        attempt, signed anew, to the next API after a refusal, until one answers 2xx."""
        event_type = "public_incident.incident_created_v2"
        body = json.dumps({"event_type": event_type, event_type: {"id": incident_id}})
        message = f"msg_{incident_id}"
        for attempt in range(600):
            api = self.apis[(first + attempt) % len(self.apis)]
            headers = {
                "webhook-id": message,
                "webhook-timestamp": str(int(datetime.now(UTC).timestamp())),
                "webhook-signature": Webhook(self.secret).sign(message, datetime.now(UTC), body),
                "content-type": "application/json",
            }
            url = api.ready_url.replace("/readyz", "/api/webhooks/ingest/incident-io")
            try:
                answer = await http.post(url, content=body, headers=headers)
                if 200 <= answer.status_code < 300:
                    self.acknowledged.add(incident_id)
                    return
            except httpx.TransportError:
                pass
            self.refused[incident_id] += 1
            await asyncio.sleep(min(0.1 * 2 ** min(attempt, 4), 1.0))
        raise RuntimeError(f"no API accepted the event of {incident_id}")

    def side_effects(self) -> Counter[str]:
        """Slack messages posted, by incident id."""
        found: Counter[str] = Counter()
        for message in self.slack.messages:
            match = SIDE_EFFECT.search(message.text)
            if match:
                found[match.group(1)] += 1
        return found

    async def runs(self, client: Client) -> Counter[str]:
        """Definition runs by status (``Running``, ``Completed``, ...): child runs by their
        workflow's status, inline runs by what their incident workflow reports."""
        from workflows.incident import IncidentWorkflow

        found: Counter[str] = Counter()
        async for run in client.list_workflows("WorkflowType = 'InterpreterWorkflow'"):
            found[run.status.name.title() if run.status else "Unknown"] += 1
        chains = "WorkflowType = 'IncidentWorkflow' AND ExecutionStatus != 'ContinuedAsNew'"
        async for incident in client.list_workflows(chains):
            handle = client.get_workflow_handle_for(
                IncidentWorkflow.run, incident.id, run_id=incident.run_id
            )
            report = await handle.query(IncidentWorkflow.explain)
            for event in report.events:
                for d in (d for d in event.decisions if d.inline):
                    found[(d.run.status if d.run else "running").title()] += 1
        return found

    async def wait_ready(self, processes: list[Process], *, seconds: float) -> None:
        """Waits until each process answers ready; one that exits meanwhile is started again,
        as compose's ``restart: unless-stopped`` does, and noted in ``exits``."""
        deadline = asyncio.get_running_loop().time() + seconds
        async with httpx.AsyncClient(timeout=2.0) as http:
            for process in processes:
                while not await process.ready(http):
                    code = process.process.returncode if process.process else None
                    if await process.revive():
                        self.exits.append(f"{process.name} exited with code {code}")
                    if asyncio.get_running_loop().time() > deadline:
                        tail = process.log.read_text()[-4000:] if process.log.exists() else ""
                        raise RuntimeError(f"{process.name} is not ready:\n{tail}")
                    await asyncio.sleep(0.2)


async def _prepare_store(settings: Settings, secret: str, slack_url: str) -> None:
    store = Store.from_settings(settings)
    try:
        await store.migrate()
        await store.put_credential(DEFAULT_WORKSPACE, "incident_io", "token", SANDBOX_TOKEN)
        await store.put_credential(DEFAULT_WORKSPACE, "incident_io", "webhook_secret", secret)
        await store.upsert_integration(DEFAULT_WORKSPACE, "incident_io")
        await store.put_credential(DEFAULT_WORKSPACE, "slack", "bot_token", SANDBOX_BOT_TOKEN)
        await store.upsert_integration(DEFAULT_WORKSPACE, "slack")
        await store_definition(store, DEFAULT_WORKSPACE, "page", DEFINITION)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def _database(root: Path, postgres: str | None) -> AsyncIterator[str]:
    """A fresh store: a unique schema of the PostgreSQL test database, or a SQLite file."""
    if not postgres:
        yield f"sqlite:///{root / 'data' / 'rensei.db'}"
        return
    url = database_url(Settings(database_url=postgres))
    schema = f"topology_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def _process_env(
    service: Service, where: dict[str, str], operator: dict[str, str], extra: dict[str, str]
) -> dict[str, str]:
    """A container's environment: the service's variables (with ``where`` for addresses), and
    nothing of this process's own ``RENSEI_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENSEI_")}
    for name, value in service.environment.items():
        env[name] = where[name] if name in where else interpolate(value, operator)
    return env | extra


@contextlib.asynccontextmanager
async def cluster(
    root: Path, *, apis: int = 2, workers: int = 2, postgres: str | None = None
) -> AsyncIterator[Cluster]:
    """Starts Temporal, the providers and the compose services; yields once all are ready."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    temporal = Temporal(root)
    await temporal.start()
    incident_io = SimulatorState(SimulatorConfig(seed_incidents=False))
    slack = SlackState(rate_limit=RateLimit(enabled=False))
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    operator = {  # what an operator's .env holds for docker compose
        "RENSEI_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "RENSEI_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "RENSEI_PUBLIC_URL": "http://127.0.0.1",
    }
    try:
        async with (
            _database(root, postgres) as db_url,
            serve(incident_io_app(incident_io)) as incident_io_url,
            serve(slack_app(slack)) as slack_url,
        ):
            (root / "definitions").mkdir(exist_ok=True)
            where = {
                "RENSEI_TEMPORAL_ADDRESS": temporal.address,
                "RENSEI_DATABASE_URL": db_url,
                "RENSEI_DATA_DIR": str(root / "data"),
                "RENSEI_DEFINITIONS_DIR": str(root / "definitions"),
                "RENSEI_API_HOST": "127.0.0.1",
                "RENSEI_WORKER_METRICS_HOST": "127.0.0.1",
            }
            providers = SandboxPlan(
                {"incident-io": incident_io_url, "slack": slack_url, "linear": "", "agent": ""},
                webhook_url="",
                slack=True,
                linear=False,
            ).env()
            settings = Settings(
                temporal_address=temporal.address,
                database_url=db_url,
                data_dir=root / "data",
                master_key=operator["RENSEI_MASTER_KEY"],  # type: ignore[arg-type]
            )
            await _prepare_store(settings, secret, slack_url)
            found = Cluster(
                root,
                temporal,
                incident_io,
                slack,
                secret,
                apis=_replicas("api", apis, root, where, operator, providers, "RENSEI_API_PORT"),
                workers=_replicas(
                    "worker",
                    workers,
                    root,
                    where,
                    operator,
                    providers,
                    "RENSEI_WORKER_HEALTH_PORT",
                    "RENSEI_WORKER_METRICS_PORT",
                ),
                settings=settings,
            )
            try:
                await asyncio.gather(*(p.start() for p in found.processes))
                await found.wait_ready(found.processes, seconds=STARTUP_SECONDS)
                yield found
            finally:
                await asyncio.gather(*(p.stop() for p in found.processes))
    finally:
        await temporal.kill()


def _replicas(
    verb: str,
    count: int,
    root: Path,
    where: dict[str, str],
    operator: dict[str, str],
    providers: dict[str, str],
    port_variable: str,
    *own_ports: str,
) -> list[Process]:
    """``count`` processes of the compose services running ``rensei <verb>`` (taken in turn);
    each gets its own ``port_variable`` (its ready URL) and ``own_ports``."""
    services = compose_services(verb)
    out = []
    for index in range(count):
        service = services[index % len(services)]
        port = free_port()
        extra = providers | {port_variable: str(port)}
        extra |= {variable: str(free_port()) for variable in own_ports}
        out.append(
            Process(
                f"{verb}-{index + 1}",
                service,
                local_command(service),
                _process_env(service, where, operator, extra),
                root / f"{verb}-{index + 1}.log",
                f"http://127.0.0.1:{port}/readyz",
            )
        )
    return out
