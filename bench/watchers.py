"""Resolution watchers: N lifecycle runs waiting at once, their memory and their wake-up.

``rensei up`` as a child process (see bench/_up.py); one definition: *created -> post
"watching" -> ``incident_io.incident.wait_for: resolved`` -> post the all-clear*. N
incidents are declared (20 at a time) and the bench waits for every "watching" post; then
it reads the worker's and the Temporal server's RSS, resolves a few incidents one at a time
(one wake-up among N waiting), and finally resolves 500 others at once (all the others when
fewer are left), while the rest keep waiting.

    .venv/bin/python -m bench.watchers            # 5,000 waiting runs
    .venv/bin/python -m bench.watchers --quick    # 500
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from bench._up import Up, put_definition, rss_mb, stack_up
from bench.report import percentile, write_section
from simulators.incident_io.seed import SEVERITY_MINOR, STATUS_DOCUMENTING

BUDGET = 60_000  # calls per minute: declaring thousands of incidents needs the budget lifted
SETUP_CLIENTS = 20
AT_ONCE = 500
MB_500 = 500e6 / 2**20  # the goal is in MB, RSS is read in MiB
WAKE_TIMEOUT = 300.0
DEFINITION = """name: watch
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: watching
    type: slack.post
    inputs:
      channel: '#incidents'
      message: '[{{ $trigger.incident_io.incident_id }}] watching'
  - id: until_resolved
    type: incident_io.incident.wait_for
    inputs:
      event: resolved
      timeout: 7d
  - id: all_clear
    type: slack.post
    inputs:
      channel: '#incidents'
      message: '[{{ $trigger.incident_io.incident_id }}-clear] all clear'
"""


@dataclass
class Measured:
    waiting: int
    setup_seconds: float
    rss: dict[str, dict[str, float]]  # moment -> process -> MiB
    one: list[float]
    all_seconds: float
    all_latencies: list[float]
    lost: int
    still_waiting: int = 0


def _rss(up: Up) -> dict[str, float]:
    found: dict[str, float] = {"worker": 0.0}
    for name, pid in up.children().items():
        key = "worker" if name.startswith("worker") else name
        found[key] = found.get(key, 0.0) + rss_mb(pid)
    return found


async def _declare(up: Up, http: httpx.AsyncClient, ids: list[str], count: int) -> None:
    left = [count]

    async def client() -> None:
        while left[0] > 0:
            left[0] -= 1
            answer = await http.post(
                f"{up.incident_io_url}/_sim/incidents",
                json={"name": "Watched incident", "severity_id": SEVERITY_MINOR},
            )
            answer.raise_for_status()
            key = str(answer.json()["incident"]["id"])
            ids.append(key)
            await up.sink.wait(key, WAKE_TIMEOUT)

    await asyncio.gather(*(client() for _ in range(SETUP_CLIENTS)))


async def _resolve(up: Up, http: httpx.AsyncClient, incident_id: str) -> float:
    started = time.monotonic()
    answer = await http.post(
        f"{up.incident_io_url}/_sim/incidents/{incident_id}/status",
        json={"incident_status_id": STATUS_DOCUMENTING},
    )
    answer.raise_for_status()
    return (await up.sink.wait(f"{incident_id}-clear", WAKE_TIMEOUT)) - started


async def run(n: int, singles: int, env: dict[str, str], at_once: int = AT_ONCE) -> Measured:
    extra = {"RENSEI_INCIDENT_IO_REQUESTS_PER_MINUTE": str(BUDGET)} | env
    async with (
        stack_up(rate_limit_per_minute=BUDGET * 2, extra_env=extra) as up,
        httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as http,
    ):
        await put_definition(up, "watch", DEFINITION)
        rss = {"idle": _rss(up)}
        ids: list[str] = []
        started = time.monotonic()
        await _declare(up, http, ids, n)
        setup = time.monotonic() - started
        await asyncio.sleep(5.0)  # the last runs reach their wait step
        rss["waiting"] = _rss(up)
        one = [await _resolve(up, http, incident_id) for incident_id in ids[:singles]]
        rest = ids[singles : singles + at_once]
        started = time.monotonic()
        results = await asyncio.gather(
            *(_resolve(up, http, i) for i in rest), return_exceptions=True
        )
        all_seconds = time.monotonic() - started
        latencies = [r for r in results if isinstance(r, float)]
        rss["after"] = _rss(up)
    left = len(ids) - singles - len(rest)
    return Measured(n, setup, rss, one, all_seconds, latencies, len(rest) - len(latencies), left)


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "n/a"
    return f"{(statistics.median(values) if q == 50 else percentile(values, q)) * 1000:.0f}"


def section(m: Measured, command: str, env: dict[str, str]) -> str:
    rows = [
        f"| {moment} | {values.get('worker', 0):.0f} | {values.get('temporal', 0):.0f} "
        f"| {values.get('api', 0):.0f} |"
        for moment, values in m.rss.items()
    ]
    worker = m.rss["waiting"]["worker"]
    per_run = (worker - m.rss["idle"]["worker"]) / m.waiting
    p99_one = percentile(m.one, 99) if m.one else float("inf")
    return f"""## Resolution watchers

Command: `{command}`. The machine was shared with other engineers' test runs (2 cores).

`rensei up` as a child process (see the storm section), with
`RENSEI_INCIDENT_IO_REQUESTS_PER_MINUTE={BUDGET}`{"".join(f" and `{k}={v}`" for k, v in env.items())} so that declaring thousands of incidents
takes minutes, not hours. One definition: post "watching", `incident_io.incident.wait_for:
resolved`, post the all-clear. {m.waiting} incidents declared, {SETUP_CLIENTS} at a time, in
{m.setup_seconds:.0f} s; every run had posted "watching" before the memory was read.

| moment | worker RSS MiB | Temporal RSS MiB | API RSS MiB |
|---|---|---|---|
{chr(10).join(rows)}

Worker memory per waiting run: {per_run * 1024:.0f} KiB.

| wake-up (resolve call -> all-clear stored) | p50 ms | p99 ms | n |
|---|---|---|---|
| one resolution among {m.waiting} waiting (one at a time) | {_ms(m.one, 50)} | {_ms(m.one, 99)} | {len(m.one)} |
| {len(m.all_latencies) + m.lost} others resolved at once | {_ms(m.all_latencies, 50)} | {_ms(m.all_latencies, 99)} | {len(m.all_latencies)} |

All {len(m.all_latencies) + m.lost} at once ({m.still_waiting} runs still waiting): the last
all-clear after **{m.all_seconds:.1f} s**; {m.lost} not within {WAKE_TIMEOUT:.0f} s.

Goals: worker RSS <= 500 MB (477 MiB) with 5,000 waiting ({"met" if worker <= MB_500 and m.waiting >= 5000 else "not shown" if m.waiting < 5000 else "**missed**"}, {worker:.0f} MiB with {m.waiting});
one wake-up p99 <= 1 s ({"met" if p99_one <= 1 else "**missed**"}); 500 at once <= 20 s
({"met" if m.all_seconds <= 20 and m.lost == 0 else "**missed**"} for {len(m.all_latencies) + m.lost}).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.watchers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 waiting runs")
    parser.add_argument("--runs", type=int, help="waiting runs (default 5,000; 500 quick)")
    parser.add_argument("--singles", type=int, default=20, help="one-at-a-time resolutions")
    parser.add_argument("--at-once", type=int, default=AT_ONCE, help="resolutions at once")
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for the stack")
    args, _ = parser.parse_known_args(argv)
    n = args.runs or (500 if args.quick else 5000)
    env = dict(item.split("=", 1) for item in args.env)
    measured = asyncio.run(run(n, args.singles, env, args.at_once))
    parts = [".venv/bin/python -m bench.watchers"] + (["--quick"] if args.quick else [])
    parts += [f"--runs {n}"] if args.runs else []
    parts += [f"--at-once {args.at_once}"] if args.at_once != AT_ONCE else []
    parts += [f"--env {item}" for item in args.env]
    body = section(measured, " ".join(parts), env)
    key = "watchers" + ("-quick" if args.quick else "") + ("-env" if env else "")
    write_section(key, body)
    print(body)


if __name__ == "__main__":
    main()
