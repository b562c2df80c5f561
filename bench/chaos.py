"""Chaos: incidents through the compose topology while workers and Temporal are killed -9.

Two API processes and two worker processes, started from docker-compose.yml's commands and
variables (``bench/_cluster.py``), the incident.io and Slack simulators as providers. Each
incident is declared in the simulator and its signed ``incident_created_v2`` webhook is sent
to the APIs at a fixed rate, redelivered (same webhook id) until an API answers 2xx, as
incident.io does. One definition posts one Slack message per incident.

The same stream runs twice in one invocation: once undisturbed (the baseline), once while a
script kills a worker every ``--kill-every`` seconds (alternating, restarted at once, as a
restart policy would) and Temporal once (restarted after ``--temporal-down`` seconds on the
same database file). Reported: lost (acknowledged, never acted on), duplicated (acted on
more than once), stuck (runs still running at the deadline), the time to drain after the last
acknowledgement, each as the chaos run against the baseline.

    .venv/bin/python -m bench.chaos            # 500 incidents at 2/s
    .venv/bin/python -m bench.chaos --quick    # 100 incidents at 5/s

The rates stay under what the stack drains on a shared 2-core machine (and under the default
incident.io budget of 600 calls a minute, one fetch per incident): faster, the stream would
measure a growing backlog instead of the recovery.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.service import RPCError

from bench._cluster import Cluster, cluster
from bench.report import write_section

DRAIN_DEADLINE = 300.0


@dataclass
class Outcome:
    """What one stream left behind."""

    incidents: int
    acknowledged: int = 0
    redeliveries: int = 0
    lost: int = 0
    duplicated: int = 0
    stuck: int = 0
    stream_seconds: float = 0.0
    drain_seconds: float = 0.0
    worker_kills: int = 0
    temporal_kills: int = 0
    restarts_after_exit: int = 0
    notes: list[str] = field(default_factory=list)


async def _chaos(found: Cluster, outcome: Outcome, *, every: float, down: float) -> None:
    """Kills a worker every ``every`` seconds, and Temporal once, midway through the second."""
    turn = 0
    while True:
        await asyncio.sleep(every)
        target = found.workers[turn % len(found.workers)]
        await target.restart()
        outcome.worker_kills += 1
        turn += 1
        if turn == 1:
            await asyncio.sleep(every / 2)
            await found.temporal.kill()
            outcome.temporal_kills += 1
            try:
                await asyncio.sleep(down)
            finally:
                await found.temporal.start()


async def _keep_up(found: Cluster, outcome: Outcome) -> None:
    """Starts again any process that exited by itself (a container's restart policy)."""
    while True:
        for process in found.processes:
            code = process.process.returncode if process.process is not None else None
            if await process.revive():
                outcome.restarts_after_exit += 1
                outcome.notes.append(f"{process.name} exited with code {code}; restarted")
        await asyncio.sleep(0.5)


async def _stream(found: Cluster, count: int, rate: float) -> list[str]:
    incidents: list[str] = []
    async with httpx.AsyncClient(timeout=10.0) as http:
        pending = []
        started = time.monotonic()
        for index in range(count):
            await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
            incident_id = found.new_incident()
            incidents.append(incident_id)
            pending.append(asyncio.create_task(found.deliver(http, incident_id, first=index)))
        await asyncio.gather(*pending)
    return incidents


async def _drain(found: Cluster, incidents: list[str], outcome: Outcome) -> None:
    client = await found.client()
    deadline = time.monotonic() + DRAIN_DEADLINE
    started = time.monotonic()
    while time.monotonic() < deadline:
        effects = found.side_effects()
        with contextlib.suppress(RuntimeError, OSError, RPCError):
            running = (await found.runs(client))["Running"]
            if running == 0 and all(effects[i] >= 1 for i in incidents):
                break
        await asyncio.sleep(0.5)
    outcome.drain_seconds = time.monotonic() - started
    effects = found.side_effects()
    outcome.lost = sum(1 for i in found.acknowledged if effects[i] == 0)
    outcome.duplicated = sum(effects[i] - 1 for i in incidents if effects[i] > 1)
    outcome.stuck = (await found.runs(client))["Running"]


async def run_once(root: Path, *, count: int, rate: float, chaos: bool, every: float) -> Outcome:
    outcome = Outcome(incidents=count)
    async with cluster(root, postgres=os.environ.get("RENSEI_TEST_DATABASE_URL")) as found:
        keep_up = asyncio.create_task(_keep_up(found, outcome))
        killer = (
            asyncio.create_task(_chaos(found, outcome, every=every, down=3.0)) if chaos else None
        )
        started = time.monotonic()
        try:
            incidents = await _stream(found, count, rate)
            outcome.stream_seconds = time.monotonic() - started
        finally:
            if killer is not None:  # the chaos stops with the stream (Temporal is back)
                killer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await killer
        outcome.acknowledged = len(found.acknowledged)
        outcome.redeliveries = sum(found.refused.values())
        try:
            await _drain(found, incidents, outcome)
        finally:
            keep_up.cancel()
        if outcome.lost or outcome.stuck or outcome.duplicated:
            for process in found.processes:  # what to look at first
                tail = process.log.read_text(errors="replace")[-1500:]
                print(f"--- last output of {process.name}:\n{tail}", flush=True)
    return outcome


def section(baseline: Outcome, chaos: Outcome, command: str, *, every: float) -> str:
    ratio = chaos.drain_seconds / baseline.drain_seconds if baseline.drain_seconds else 0.0
    rows = [
        ("incidents sent", baseline.incidents, chaos.incidents),
        ("acknowledged (2xx)", baseline.acknowledged, chaos.acknowledged),
        ("redeliveries (503 or connection refused)", baseline.redeliveries, chaos.redeliveries),
        ("**lost**", baseline.lost, chaos.lost),
        ("**duplicated**", baseline.duplicated, chaos.duplicated),
        ("**stuck**", baseline.stuck, chaos.stuck),
        ("worker kills (-9)", baseline.worker_kills, chaos.worker_kills),
        ("Temporal kills (-9)", baseline.temporal_kills, chaos.temporal_kills),
        (
            "processes that exited by themselves",
            baseline.restarts_after_exit,
            chaos.restarts_after_exit,
        ),
        ("stream, s", f"{baseline.stream_seconds:.1f}", f"{chaos.stream_seconds:.1f}"),
        (
            "time to drain after the stream, s",
            f"{baseline.drain_seconds:.1f}",
            f"{chaos.drain_seconds:.1f}",
        ),
    ]
    lines = [
        "## Chaos: workers and Temporal killed -9 under a stream of incidents",
        "",
        f"Command: `{command}` (part of `make bench`). Two APIs and two workers started from",
        "docker-compose.yml's commands and variables, the incident.io and Slack simulators as",
        "providers, one Slack post per incident. The chaos run kills a worker (alternating) every",
        f"{every:.0f} s and restarts it at once, and kills Temporal once (back after 3 s, same",
        "database file). Goal: 0 lost, 0 duplicated, 0 stuck.",
        "",
        "| | baseline | chaos |",
        "|---|---:|---:|",
        *(f"| {name} | {a} | {b} |" for name, a, b in rows),
        "",
        f"Time to drain, chaos / baseline: **{ratio:.1f}x**.",
    ]
    if chaos.notes:
        lines += ["", "Processes restarted after exiting by themselves: " + "; ".join(chaos.notes)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 incidents instead of 500")
    parser.add_argument("--count", type=int, help="incidents per run")
    parser.add_argument("--rate", type=float, help="incidents offered per second")
    parser.add_argument("--kill-every", type=float, default=10.0, help="seconds between kills")
    args, _ = parser.parse_known_args(argv)
    count = args.count or (100 if args.quick else 500)
    rate = args.rate or (5.0 if args.quick else 2.0)
    results = []
    for chaos in (False, True):
        with tempfile.TemporaryDirectory(prefix="rensei-chaos-") as tmp:
            results.append(
                asyncio.run(
                    run_once(Path(tmp), count=count, rate=rate, chaos=chaos, every=args.kill_every)
                )
            )
    command = ".venv/bin/python -m bench.chaos" + (" --quick" if args.quick else "")
    if args.count or args.rate:
        command += f" --count {count} --rate {rate:g}"
    body = section(results[0], results[1], command, every=args.kill_every)
    write_section("chaos" + ("-quick" if args.quick else ""), body)
    print(body)


if __name__ == "__main__":
    main()
