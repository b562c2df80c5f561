"""The supervisor restarts a crashed child with backoff, and gives up on one that keeps crashing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from simulators.server import free_port
from stack.supervisor import RestartPolicy, _spawn, supervise
from tests.e2e.test_incident_flow import eventually

ROOT = Path(__file__).parent.parent.parent
FAST = RestartPolicy(limit=3, window=60.0, initial=0.05, cap=0.2)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_that_keeps_crashing_stops_the_stack_with_its_last_lines(
    capfd: pytest.CaptureFixture[str],
) -> None:
    child = _spawn(
        "flaky",
        python("print('loading'); print('boom: no config', flush=True); raise SystemExit(3)"),
        env=dict(os.environ),
    )
    code = supervise([child], stopping=lambda: False, policy=FAST, tick=0.01)
    err = capfd.readouterr().err
    assert code == 1
    assert "rensei: flaky exited with code 3; restarting it in 0s (exit 1 of 3" in err
    assert "rensei: flaky restarted (pid " in err
    assert "rensei: flaky keeps crashing (3 exits within 60s, the last with code 3)" in err
    assert "  | boom: no config" in err.split("keeps crashing")[1]


def test_a_crashed_child_is_restarted_and_the_stack_keeps_running(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    flag = tmp_path / "crashed-once"
    code = (
        "import pathlib, sys, time\n"
        f"flag = pathlib.Path({str(flag)!r})\n"
        "if not flag.exists():\n"
        "    flag.touch(); sys.exit(9)\n"
        f"pathlib.Path({str(tmp_path / 'up')!r}).touch()\n"
        "time.sleep(60)\n"
    )
    child = _spawn("worker", python(code), env=dict(os.environ))
    try:
        result = supervise(
            [child], stopping=lambda: (tmp_path / "up").exists(), policy=FAST, tick=0.01
        )
        assert result == 0
        assert child.process.poll() is None  # the second process runs on
    finally:
        child.process.kill()
        child.process.wait()
    err = capfd.readouterr().err
    assert "rensei: worker exited with code 9; restarting it in 0s (exit 1 of 3" in err
    assert "keeps crashing" not in err


async def _ready(port: int) -> int | None:
    """The worker's pid once its /readyz says ready."""
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            answer = await http.get(f"http://127.0.0.1:{port}/readyz")
    except httpx.TransportError:
        return None
    return int(answer.json()["pid"]) if answer.status_code == 200 else None


@pytest.mark.devserver
@pytest.mark.asyncio
async def test_kill_9_of_the_worker_under_rensei_up_brings_it_back(tmp_path: Path) -> None:
    health = free_port()
    env = dict(
        os.environ,
        RENSEI_DATA_DIR=str(tmp_path / "data"),
        RENSEI_SANDBOX="false",
        RENSEI_DEFINITIONS_DIR=str(tmp_path / "none"),
        RENSEI_TEMPORAL_PORT=str(free_port()),
        RENSEI_TEMPORAL_UI_PORT=str(free_port()),
        RENSEI_API_PORT=str(free_port()),
        RENSEI_WORKER_HEALTH_PORT=str(health),
        RENSEI_WORKER_METRICS_PORT=str(free_port()),
        RENSEI_ADMIN_TOKEN="admin-token-for-this-test-0123",
    )
    env.pop("RENSEI_TEMPORAL_ADDRESS", None)
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "cli", "up"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        first = await eventually(lambda: _ready(health), seconds=60)
        os.kill(first, signal.SIGKILL)

        async def another() -> int | None:
            pid = await _ready(health)
            return pid if pid != first else None

        second = await eventually(another, seconds=60)
        assert second != first
        assert up.poll() is None  # the stack kept running
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    text = log.read_text()
    assert "rensei: worker exited with code -9; restarting it in 1s" in text
    assert "rensei: worker restarted (pid " in text
