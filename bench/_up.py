"""The stack as ``make run`` starts it (``rensei up`` in a child process), for the load benches.

The bench serves the providers itself, in its own process: the incident.io simulator (it
sends signed webhooks to the stack's API), the Slack simulator and a plain HTTP sink; a
message stored by the Slack simulator or a ``POST /sink`` notes an incident's action. The stack is told about them through the
``RENSEI_*`` variables a user would set, so sandbox mode is off and no example is loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request

from bench._stack import ADMIN, SECRET
from simulators.incident_io import SANDBOX_TOKEN, SimulatorConfig, SimulatorState
from simulators.incident_io import create_app as incident_io_app
from simulators.server import free_port, serve
from simulators.slack import SANDBOX_BOT_TOKEN, RateLimit, SlackState
from simulators.slack import create_app as slack_app

READY_TIMEOUT = 90.0
ROOT = Path(__file__).resolve().parent.parent


class _Arrivals(list[Any]):
    """``SlackState.messages`` that also notes when each message was stored."""

    def __init__(self, on_message: Callable[[Any], None]) -> None:
        super().__init__()
        self._on_message = on_message

    def append(self, message: Any) -> None:
        super().append(message)
        self._on_message(message)


@dataclass
class Sink:
    """Every message stored by the Slack simulator, by the token it carries (``[key]``)."""

    arrivals: dict[str, list[float]] = field(default_factory=dict)
    waiters: dict[str, asyncio.Future[float]] = field(default_factory=dict)

    def note(self, message: Any) -> None:
        text = str(message.text)
        if "[" not in text or "]" not in text:
            return
        self.note_key(text[text.index("[") + 1 : text.index("]")])

    def note_key(self, key: str) -> None:
        now = time.monotonic()
        self.arrivals.setdefault(key, []).append(now)
        waiter = self.waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)

    async def wait(self, key: str, within: float) -> float:
        """The monotonic time at which the first message for ``key`` arrived."""
        if key in self.arrivals:
            return self.arrivals[key][0]
        waiter = self.waiters.setdefault(key, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), within)


def sink_app(sink: Sink) -> Any:
    """A plain HTTP sink: ``POST /sink`` with ``{"key": ...}`` notes an arrival (http.request)."""
    app = FastAPI()

    @app.post("/sink")
    async def arrive(request: Request) -> dict[str, bool]:
        body = await request.json()
        sink.note_key(str(body.get("key", "")))
        return {"ok": True}

    return app


@dataclass
class Up:
    """A running stack and the bench-side providers."""

    api_url: str
    temporal_address: str
    incident_io: SimulatorState
    incident_io_url: str
    slack_url: str
    sink_url: str
    sink: Sink
    supervisor: subprocess.Popen[bytes]
    env: dict[str, str]

    def children(self) -> dict[str, int]:
        """``{"temporal"|"worker"|"api"|"worker-N": pid}`` of the supervisor's children."""
        found: dict[str, int] = {}
        workers = 0
        for pid in _child_pids(self.supervisor.pid):
            cmd = _cmdline(pid)
            if "server" in cmd and "start-dev" in cmd:
                found["temporal"] = pid
            elif cmd[-2:] == ["cli", "worker"] or "worker" in cmd[-1:]:
                found["worker" if workers == 0 else f"worker-{workers}"] = pid
                workers += 1
            elif cmd[-2:] == ["cli", "api"]:
                found["api"] = pid
        return found


def _child_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            pids.append(int(entry.name))
    return sorted(pids)


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def rss_mb(pid: int) -> float:
    """Resident set size of one process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _env(
    tmp: Path, *, incident_io_url: str, slack_url: str, extra: dict[str, str]
) -> dict[str, str]:
    temporal, ui, api = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENSEI_")}
    env |= {
        "RENSEI_DATA_DIR": str(tmp / "data"),
        "RENSEI_DEFINITIONS_DIR": str(tmp / "definitions"),
        "RENSEI_TEMPORAL_PORT": str(temporal),
        "RENSEI_TEMPORAL_UI_PORT": str(ui),
        "RENSEI_API_PORT": str(api),
        "RENSEI_PUBLIC_URL": f"http://127.0.0.1:{api}",
        "RENSEI_SANDBOX": "false",
        "RENSEI_ADMIN_TOKEN": ADMIN.get_secret_value(),
        "RENSEI_INCIDENT_IO_TOKEN": SANDBOX_TOKEN,
        "RENSEI_INCIDENT_IO_BASE_URL": incident_io_url,
        "RENSEI_INCIDENT_IO_WEBHOOK_SECRET": SECRET,
        "RENSEI_SLACK_BASE_URL": slack_url,
        "RENSEI_SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN,
        "RENSEI_LOG_LEVEL": "WARNING",
        "RENSEI_WORKER_METRICS_PORT": "0",
    }
    return env | extra


async def _wait_ready(api_url: str, supervisor: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if supervisor.poll() is not None:
                raise RuntimeError(f"rensei up exited with code {supervisor.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                answer = await http.get(f"{api_url}/healthz")
                if answer.status_code == 200 and answer.json().get("temporal") == "ok":
                    return
            await asyncio.sleep(0.3)
    raise RuntimeError(f"the stack did not become healthy within {READY_TIMEOUT:.0f}s")


def spawn(
    command: list[str], *, env: dict[str, str], output: Any = None
) -> subprocess.Popen[bytes]:
    """A child in its own session, run from the repository root."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,
    )


@contextlib.asynccontextmanager
async def stack_up(
    *, rate_limit_per_minute: int = 1200, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Up]:
    """Starts the providers here and ``rensei up`` as a child; stops both on exit."""
    sink = Sink()
    slack = SlackState(rate_limit=RateLimit(enabled=False))
    slack.messages = _Arrivals(sink.note)
    incident_io = SimulatorState(
        SimulatorConfig(
            seed_incidents=False, schedule_scale=0.01, rate_limit_per_minute=rate_limit_per_minute
        )
    )
    with tempfile.TemporaryDirectory(prefix="rensei-storm-") as name:
        tmp = Path(name)
        async with (
            serve(incident_io_app(incident_io)) as incident_io_url,
            serve(slack_app(slack)) as slack_url,
            serve(sink_app(sink)) as sink_url,
        ):
            env = _env(
                tmp, incident_io_url=incident_io_url, slack_url=slack_url, extra=extra_env or {}
            )
            api_url = f"http://127.0.0.1:{env['RENSEI_API_PORT']}"
            log = (tmp / "stack.log").open("wb")
            supervisor = spawn([sys.executable, "-m", "cli", "up"], env=env, output=log)
            try:
                await _wait_ready(api_url, supervisor)
                incident_io.webhooks.configure(f"{api_url}/api/webhooks/ingest/incident-io", SECRET)
                yield Up(
                    api_url=api_url,
                    temporal_address=f"127.0.0.1:{env['RENSEI_TEMPORAL_PORT']}",
                    incident_io=incident_io,
                    incident_io_url=incident_io_url,
                    slack_url=slack_url,
                    sink_url=sink_url,
                    sink=sink,
                    supervisor=supervisor,
                    env=env,
                )
            except BaseException:
                log.flush()
                sys.stderr.write((tmp / "stack.log").read_text(errors="replace")[-4000:])
                raise
            finally:
                await incident_io.webhooks.aclose()
                if supervisor.poll() is None:
                    supervisor.send_signal(signal.SIGTERM)
                    try:
                        supervisor.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        supervisor.kill()
                        supervisor.wait()
                log.close()


async def put_definition(up: Up, name: str, text: str) -> None:
    """Stores a definition through the API, as ``rensei`` users do."""
    await _admin(up, "PUT", f"/api/workflows/{name}", content=text.encode())


async def allow_loopback(up: Up) -> None:
    """Puts 127.0.0.1 on the default workspace's ``http.request`` allowlist."""
    await _admin(up, "PUT", "/api/http/allowlist", json={"hosts": ["127.0.0.1"]})


async def _admin(up: Up, method: str, path: str, **kwargs: Any) -> None:
    headers = {"Authorization": f"Bearer {ADMIN.get_secret_value()}"}
    async with httpx.AsyncClient(base_url=up.api_url, timeout=30, headers=headers) as http:
        answer = await http.request(method, path, **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
