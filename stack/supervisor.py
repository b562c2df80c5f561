"""``make run``: Temporal dev server, worker and API as child processes, in the foreground.

Before anything starts, the admin token is ensured (and printed when it was just made) and
sandbox mode is decided: with no incident.io connected, the simulators run as one more child
(``rensei simulate sandbox``) and the default workspace is connected to them.

Children run in their own sessions so that Ctrl-C reaches only the supervisor, which then
stops them in order (API, worker, Temporal) and waits for each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from settings import Settings
from stack import devserver
from stack.sandbox_mode import (
    SandboxPlan,
    curl_command,
    incident_command,
    prepare_sandbox,
    sandbox_ports,
)
from store import KeyringError, Store, StoreError
from store.admin_token import admin_token_path, admin_token_source, ensure_admin_token

log = logging.getLogger(__name__)
STOP_TIMEOUT = 15.0


class StackError(RuntimeError):
    """The stack could not start (port taken, binary missing, a child died)."""


@dataclass
class Child:
    """One supervised process."""

    name: str
    process: subprocess.Popen[bytes]


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, *, child: Child, timeout: float) -> None:
    """Blocks until host:port accepts connections, the child dies, or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise StackError(
                f"{child.name} exited with code {child.process.returncode} while starting"
            )
        if port_in_use(host, port):
            return
        time.sleep(0.1)
    raise StackError(f"{child.name} did not open {host}:{port} within {timeout:.0f}s")


def _spawn(name: str, command: list[str], *, env: dict[str, str]) -> Child:
    log.debug("starting %s: %s", name, " ".join(command))
    process = subprocess.Popen(command, env=env, start_new_session=True)
    return Child(name, process)


def _stop(children: list[Child]) -> None:
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
            try:
                child.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs; killing it", child.name, STOP_TIMEOUT)
                child.process.kill()
                child.process.wait()


@dataclass
class Preparation:
    """What happens before the children start: the admin token and sandbox mode."""

    admin_token: str
    admin_token_generated: bool
    admin_token_source: str
    sandbox: SandboxPlan | None = None
    notes: list[str] = field(default_factory=list)


def prepare(settings: Settings) -> Preparation:
    """Ensures the admin token and the keyring, migrates the store, decides sandbox mode."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fresh = settings.admin_token is None and not admin_token_path(settings).exists()
    token = ensure_admin_token(settings)
    return Preparation(
        admin_token=token,
        admin_token_generated=fresh,
        admin_token_source=admin_token_source(settings),
        sandbox=asyncio.run(_prepare_store(settings)),
    )


async def _prepare_store(settings: Settings) -> SandboxPlan | None:
    store = Store.from_settings(settings)  # creates the keyring file before any child races
    try:
        await store.migrate()
        return await prepare_sandbox(settings, store)
    finally:
        await store.close()


def _check_ports(settings: Settings, *, sandbox: bool = False) -> None:
    wanted = [(settings.api_port, "RENSEI_API_PORT")]
    if settings.worker_metrics_port:
        wanted += [
            (settings.worker_metrics_port + n, "RENSEI_WORKER_METRICS_PORT")
            for n in range(settings.workers)
        ]
    if sandbox:
        wanted += [(port, "RENSEI_SANDBOX_PORT") for port in sandbox_ports(settings).values()]
    if settings.embedded_temporal:
        wanted += [
            (settings.temporal_port, "RENSEI_TEMPORAL_PORT"),
            (settings.temporal_ui_port, "RENSEI_TEMPORAL_UI_PORT"),
        ]
    for port, variable in wanted:
        host = {
            "RENSEI_API_PORT": settings.api_host,
            "RENSEI_WORKER_METRICS_PORT": settings.worker_metrics_host,
        }.get(variable, "127.0.0.1")
        if port_in_use(host, port):
            raise StackError(
                f"port {port} on {host} is already in use (is another 'make run' running?); "
                f"stop it or choose another port with {variable}"
            )


def codec_endpoint(settings: Settings) -> str | None:
    """The API's codec server for the Temporal UI, when payloads are encrypted."""
    if not settings.encrypt_payloads:
        return None
    return f"http://127.0.0.1:{settings.api_port}/codec"


def start_children(settings: Settings, *, sandbox: SandboxPlan | None = None) -> list[Child]:
    """Starts Temporal (unless external), the sandbox simulators (in sandbox mode), then the
    worker and the API; returns them in order."""
    _check_ports(settings, sandbox=sandbox is not None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ) | (sandbox.env() if sandbox else {})
    children: list[Child] = []
    try:
        if settings.embedded_temporal:
            command = devserver.dev_server_command(
                port=settings.temporal_port,
                ui_port=settings.temporal_ui_port,
                db_file=Path(settings.data_dir) / "temporal.db",
                codec_endpoint=codec_endpoint(settings),
            )
            temporal = _spawn("temporal", command, env=env)
            children.append(temporal)
            wait_for_port("127.0.0.1", settings.temporal_port, child=temporal, timeout=60)
        if sandbox is not None:
            command = [sys.executable, "-m", "cli", "simulate", "sandbox"]
            command += ["--port", str(settings.sandbox_port), "--webhook-url", sandbox.webhook_url]
            sims = _spawn("simulators", command, env=env)
            children.append(sims)
            last = max(sandbox_ports(settings).values())
            wait_for_port("127.0.0.1", last, child=sims, timeout=30)
        for number in range(settings.workers):
            name = "worker" if number == 0 else f"worker-{number + 1}"
            command = [sys.executable, "-m", "cli", "worker"]
            children.append(_spawn(name, command, env=env | worker_env(settings, number)))
        api = _spawn("api", [sys.executable, "-m", "cli", "api"], env=env)
        children.append(api)
        wait_for_port(settings.api_host, settings.api_port, child=api, timeout=60)
    except BaseException:
        _stop(children)
        raise
    return children


def banner(settings: Settings, preparation: Preparation | None = None) -> str:
    """What ``make run`` prints once everything is up."""
    lines = ["", "rensei is running:"]
    api = f"http://{settings.api_host}:{settings.api_port}"
    if settings.embedded_temporal:
        lines.append(f"  Temporal UI   http://127.0.0.1:{settings.temporal_ui_port}")
    lines += [
        f"  Temporal      {settings.address}",
        f"  API           {api}  (health: /healthz)",
        f"  Settings      {api}/settings/integrations",
        *metrics_lines(settings),
        f"  data          {Path(settings.data_dir).resolve()}",
    ]
    if preparation is not None:
        lines += _admin_lines(preparation)
        if preparation.sandbox is not None:
            lines += _sandbox_lines(settings, preparation.sandbox)
    lines += ["Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


def metrics_lines(settings: Settings) -> list[str]:
    """Where Prometheus scrapes the API and the worker."""
    lines = [f"  metrics       http://{settings.api_host}:{settings.api_port}/metrics  (API)"]
    for number in range(settings.workers if settings.worker_metrics_port else 0):
        where = f"{settings.worker_metrics_host}:{settings.worker_metrics_port + number}"
        label = "worker" if number == 0 else f"worker-{number + 1}"
        lines.append(f"                http://{where}/metrics  ({label})")
    return lines


def worker_env(settings: Settings, number: int) -> dict[str, str]:
    """What differs between worker processes: each serves its metrics on its own port."""
    if not settings.worker_metrics_port:
        return {}
    return {"RENSEI_WORKER_METRICS_PORT": str(settings.worker_metrics_port + number)}


def _admin_lines(preparation: Preparation) -> list[str]:
    if preparation.admin_token_generated:
        return [
            f"  admin token   {preparation.admin_token}",
            f"                (generated now, saved in {preparation.admin_token_source})",
        ]
    return [
        f"  admin token   from {preparation.admin_token_source}  (print it: rensei admin-token)"
    ]


def _sandbox_lines(settings: Settings, plan: SandboxPlan) -> list[str]:
    return [
        "",
        "Sandbox mode: no incident.io token is connected, so the default workspace uses local",
        "simulators (connect a real token on the settings page to switch it off):",
        f"  incident.io   {plan.urls['incident-io']}  (webhooks -> {plan.webhook_url})",
        f"  Slack         {plan.urls['slack']}" + ("" if plan.slack else "  (not used)"),
        f"  Linear        {plan.urls['linear']}" + ("" if plan.linear else "  (not used)"),
        f"  agent         {plan.urls['incident-responder']}  (incident-responder)",
        *plan.definition_lines(),
        "Declare an incident:",
        f"  .venv/bin/{incident_command(settings)}",
        f"  or: {curl_command(settings)}",
        "",
    ]


def run_stack(settings: Settings) -> int:
    """Runs the stack until Ctrl-C (exit 0) or until a child dies (exit 1)."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        preparation = prepare(settings)
        children = start_children(settings, sandbox=preparation.sandbox)
    except (StackError, devserver.BinaryNotFoundError, StoreError, KeyringError, OSError) as exc:
        sys.stderr.write(f"rensei: {exc}\n")
        return 1
    sys.stdout.write(banner(settings, preparation) + "\n")
    sys.stdout.flush()
    code = 0
    with contextlib.suppress(KeyboardInterrupt):
        while not stopping:
            dead = next((c for c in children if c.process.poll() is not None), None)
            if dead is not None:
                sys.stderr.write(
                    f"rensei: {dead.name} exited with code {dead.process.returncode}; stopping\n"
                )
                code = 1
                break
            time.sleep(0.2)
    sys.stdout.write("stopping...\n")
    _stop(children)
    return code
