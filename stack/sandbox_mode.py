"""``make run``'s sandbox mode: with no incident.io connected, the stack runs beside simulators.

The supervisor decides (``prepare_sandbox``) before it starts anything: the default
workspace is connected to the simulators through the normal store API (the sandbox token,
a fresh ``whsec_`` signing secret, Slack and Linear keys, the ``incident-responder`` agent
card) and ``examples/*.yaml`` is loaded as definitions. The simulators then run as one more
child process, ``rensei simulate sandbox``, which delivers webhooks to the API's ingest URL
signed with the stored secret. Only ``ENABLED_EXAMPLES`` start enabled, so one incident
gets one coherent reaction; ``rensei workflows enable NAME`` turns another on. Connecting a
real incident.io token from the settings page turns the workspace's ``sandbox`` flag off,
and the next ``make run`` starts no simulators.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from activities.definitions import FolderReport, load_folder
from settings import Settings
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import run as run_incident_io
from simulators.incident_io.seed import STATUS_DOCUMENTING
from simulators.linear import SANDBOX_API_KEY, LinearState
from simulators.slack import SANDBOX_BOT_TOKEN, SANDBOX_SIGNING_SECRET, SlackState
from stack.sandbox_seed import severity_id
from stack.sandbox_state import keep, restore, state_file
from store import DEFAULT_WORKSPACE, Store

log = logging.getLogger(__name__)

SIMULATORS = ("incident-io", "slack", "linear", "incident-responder")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AGENT = "incident-responder"
ENABLED_EXAMPLES = frozenset({"seed-routing"})
"""The one coherent set the sandbox starts with; the other examples are stored disabled."""


class SandboxError(RuntimeError):
    """The sandbox simulators cannot be reached or refused a request."""


@dataclass(frozen=True)
class SandboxPlan:
    """What sandbox mode set up for this run of the stack."""

    urls: Mapping[str, str]
    webhook_url: str
    slack: bool
    linear: bool
    definitions: list[FolderReport] = field(default_factory=list)

    def definition_lines(self) -> list[str]:
        """The banner's account of the examples: which run, and how to enable another."""
        loaded = [r for r in self.definitions if r.status in ("stored", "unchanged")]
        enabled = sorted(r.name for r in loaded if r.name in ENABLED_EXAMPLES)
        return [
            f"  definitions   {len(loaded)} from examples/ loaded; enabled at first start: "
            f"{', '.join(enabled) or 'none'}",
            "                (see them: rensei workflows list; "
            "enable one: rensei workflows enable NAME)",
        ]

    def env(self) -> dict[str, str]:
        """The variables the worker and API processes need to reach the simulators."""
        env = {"RENSEI_SANDBOX_INCIDENT_IO_URL": self.urls["incident-io"]}
        if self.slack:
            env["RENSEI_SLACK_BASE_URL"] = self.urls["slack"]
        if self.linear:
            env["RENSEI_LINEAR_BASE_URL"] = self.urls["linear"]
        return env


def sandbox_ports(settings: Settings) -> dict[str, int]:
    """incident.io on ``RENSEI_SANDBOX_PORT``, then Slack, Linear and the agent."""
    return {name: settings.sandbox_port + i for i, name in enumerate(SIMULATORS)}


def sandbox_urls(settings: Settings) -> dict[str, str]:
    return {name: f"http://127.0.0.1:{port}" for name, port in sandbox_ports(settings).items()}


def ingest_url(settings: Settings, workspace: str = DEFAULT_WORKSPACE) -> str:
    """Where the simulator delivers webhooks: the local API, not the public URL."""
    return f"http://127.0.0.1:{settings.api_port}/api/webhooks/ingest/incident-io/{workspace}"


async def sandbox_wanted(settings: Settings, store: Store) -> bool:
    """On when forced, or when the default workspace has no real incident.io token."""
    if settings.sandbox is not None:
        return settings.sandbox
    if settings.incident_io_token is not None:
        return False
    integration = await store.get_integration(DEFAULT_WORKSPACE, "incident_io")
    if integration is not None and not integration.display.get("sandbox"):
        return not await store.get_credential(DEFAULT_WORKSPACE, "incident_io", "token")
    return True


async def prepare_sandbox(settings: Settings, store: Store) -> SandboxPlan | None:
    """Connects the default workspace to the simulators when sandbox mode is wanted."""
    if not await sandbox_wanted(settings, store):
        return None
    urls = sandbox_urls(settings)
    ws = DEFAULT_WORKSPACE
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    await store.put_credential(ws, "incident_io", "token", SANDBOX_TOKEN)
    await store.put_credential(ws, "incident_io", "webhook_secret", secret)
    await store.upsert_integration(ws, "incident_io", display=_display("incident.io", urls))
    # The simulators keep their state in the data directory, but a cursor from another
    # simulator process is not worth trusting: the sync takes a fresh baseline.
    await store.set_sync_cursor(ws, "incident_io", None)
    slack = await _connect(
        store,
        "slack",
        {"bot_token": SANDBOX_BOT_TOKEN, "signing_secret": SANDBOX_SIGNING_SECRET},
        urls,
        configured=settings.slack_bot_token is not None,
    )
    linear = await _connect(
        store,
        "linear",
        {"api_key": SANDBOX_API_KEY},
        urls,
        configured=settings.linear_api_key is not None,
    )
    card = await store.get_agent_card(ws, AGENT)
    if AGENT not in settings.agents and (card is None or card.url.startswith("http://127.0.0.1")):
        await store.put_agent_card(ws, AGENT, urls[AGENT])
    reports = await load_folder(
        store, EXAMPLES, workspace=ws, enable_new=lambda name: name in ENABLED_EXAMPLES
    )
    return SandboxPlan(urls, ingest_url(settings), slack, linear, reports)


def _display(provider: str, urls: Mapping[str, str]) -> dict[str, Any]:
    key = "incident-io" if provider == "incident.io" else provider.lower()
    return {
        "name": f"{provider} simulator (sandbox)",
        "roles": ["sandbox"],
        "details": {},
        "sandbox": True,
        "simulator_url": urls[key],
    }


async def _connect(
    store: Store,
    kind: str,
    fields: Mapping[str, str],
    urls: Mapping[str, str],
    *,
    configured: bool,
) -> bool:
    """Points one provider at its simulator unless the user connected it for real."""
    if configured:
        return False
    existing = await store.get_integration(DEFAULT_WORKSPACE, kind)
    if existing is not None and not existing.display.get("sandbox"):
        return False
    for name, value in fields.items():
        await store.put_credential(DEFAULT_WORKSPACE, kind, name, value)
    provider = {"slack": "Slack", "linear": "Linear"}[kind]
    await store.upsert_integration(DEFAULT_WORKSPACE, kind, display=_display(provider, urls))
    return True


def serve_incident_io(
    port: int, *, webhook_url: str | None = None, webhook_secret: str | None = None
) -> None:
    """Serves the incident.io simulator alone until interrupted (``rensei simulate incident-io``).

    Raises:
        ValueError: ``webhook_url`` is given without ``webhook_secret``.
    """
    run_incident_io(port, webhook_url=webhook_url, webhook_secret=webhook_secret)


async def serve_sandbox(
    settings: Settings, *, webhook_url: str | None, stop: asyncio.Event | None = None
) -> None:
    """Serves the four simulators until ``stop`` is set, or else until SIGINT or SIGTERM
    (``rensei simulate sandbox``).

    Webhooks are signed with the default workspace's stored secret, read from the store
    here so that it never appears on a command line.
    """
    from stack.sandbox import simulators

    secret = None
    if webhook_url:
        store = Store.from_settings(settings)
        try:
            await store.migrate()
            secret = await store.get_credential(DEFAULT_WORKSPACE, "incident_io", "webhook_secret")
        finally:
            await store.close()
        if not secret:
            raise SandboxError(
                "no webhook signing secret is stored for the default workspace; "
                "start the sandbox with 'make run'"
            )
    config = SimulatorConfig(
        seed_incidents=False,
        webhook_url=webhook_url if secret else None,
        webhook_secret=secret,
        random_seed=secrets.randbits(32),
    )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    state, slack, linear = SimulatorState(config), SlackState(), LinearState()
    kept = state_file(settings.data_dir)
    if restore(kept, state, slack, linear):
        log.info("sandbox simulators restored from %s", kept)
    async with simulators(
        state,
        ports=sandbox_ports(settings),
        slack=slack,
        linear=linear,
        channels=settings.sandbox_channels,
        teams=settings.sandbox_teams,
    ) as sims:
        for name, url in sims.urls.items():
            log.info("sandbox simulator %s on %s", name, url)
        await keep(kept, state, slack, linear, stop=stop)


def incident_command(settings: Settings) -> str:
    """The command the banner prints to declare an incident in the sandbox."""
    return 'rensei sandbox incident --severity SEV-1 --title "Checkout is down"'


def curl_command(settings: Settings) -> str:
    url = sandbox_urls(settings)["incident-io"]
    return (
        f"curl -X POST {url}/_sim/incidents -H 'content-type: application/json' "
        f'-d \'{{"name": "Checkout is down", "severity_id": "{severity_id("SEV-1")}"}}\''
    )


async def declare_incident(
    settings: Settings, *, title: str, severity: str, summary: str | None = None
) -> dict[str, Any]:
    """Declares an incident in the running sandbox's incident.io simulator."""
    chosen = severity_id(severity)
    if chosen is None:
        raise SandboxError(f"unknown severity {severity!r} (SEV-1 .. SEV-4)")
    body: dict[str, Any] = {"name": title, "severity_id": chosen}
    if summary:
        body["summary"] = summary
    return await _sim_post(settings, "/_sim/incidents", body)


async def resolve_incident(settings: Settings, incident: str) -> dict[str, Any]:
    """Moves a sandbox incident (``INC-42``, ``42`` or its id) to post-incident, what
    ``wait_for: resolved`` waits for."""
    incident_id = await sandbox_incident_id(settings, incident)
    return await _sim_post(
        settings,
        f"/_sim/incidents/{incident_id}/status",
        {"incident_status_id": STATUS_DOCUMENTING},
    )


async def sandbox_incident_id(settings: Settings, incident: str) -> str:
    """The id of a sandbox incident named by reference, asked of the simulator."""
    from activities.errors import IntegrationError
    from activities.incident_io.client import IncidentIoClient
    from stack.references import as_reference

    reference = as_reference(incident)
    if reference is None:
        return incident.strip()
    url = sandbox_urls(settings)["incident-io"]
    async with httpx.AsyncClient(timeout=10) as http:
        client = IncidentIoClient(http, base_url=url, token=SANDBOX_TOKEN)
        try:
            return (await client.get_incident(reference)).id
        except IntegrationError as exc:
            raise SandboxError(f"{reference} in the sandbox at {url}: {exc}") from None


async def _sim_post(settings: Settings, path: str, body: dict[str, Any]) -> dict[str, Any]:
    url = sandbox_urls(settings)["incident-io"]
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        try:
            response = await http.post(path, json=body)
        except httpx.TransportError as exc:
            raise SandboxError(
                f"the sandbox's incident.io simulator does not answer at {url} ({exc}); "
                "is 'make run' running in sandbox mode?"
            ) from None
    if response.status_code >= 400:
        raise SandboxError(f"the simulator refused {path}: {response.status_code} {response.text}")
    found: dict[str, Any] = response.json()
    return found
