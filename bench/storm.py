"""Incident storm: incidents fully routed per second by the stack ``make run`` starts.

``rensei up`` runs as a child process (Temporal dev server on a WAL file, worker, API);
this process serves the incident.io simulator, which declares incidents and sends their
signed webhooks to the API, a plain HTTP sink and the Slack simulator. One stored
definition: *created -> condition on severity -> one action to a sink*: ``http.request``
to the plain sink (the default) or ``slack.post`` to the Slack simulator (``--node``). An incident is
routed when its message reaches the sink. In the same run, the floor: a hand-written
workflow doing one activity (one post to the Slack simulator) per signal-with-start, with its
worker in its own process on the same Temporal server.

    .venv/bin/python -m bench.storm            # 20 clients for 20 s, then 200 one at a time
    .venv/bin/python -m bench.storm --quick    # 20 clients for 5 s, then 30 one at a time
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from temporalio.client import Client

from bench._up import Up, allow_loopback, cpu_seconds, put_definition, spawn, stack_up
from bench.report import percentile, write_section
from contracts.ids import incident_workflow_id
from simulators.incident_io.seed import SEVERITY_MAJOR, SEVERITY_MINOR

ITEM_TIMEOUT = 60.0
DRAIN_SECONDS = 20.0
WARM_UP = 3
UPDATES = 20
"""Incidents updated one at a time after the storm, to count what an update costs."""
SETTLED = 1.0
"""Seconds a workflow's history must stay the same length to count as settled."""


def definition(node: str, sink_url: str) -> str:
    """The storm's one definition; ``node`` picks the action (``slack.post`` or ``http.request``)."""
    key = "[{{ $trigger.incident_io.incident_id }}]"
    if node == "http.request":
        action = (
            "    type: http.request\n"
            "    inputs:\n"
            "      method: POST\n"
            f"      url: '{sink_url}/sink'\n"
            "      json: {key: '{{ $trigger.incident_io.incident_id }}'}\n"
        )
    else:
        action = (
            "    type: slack.post\n"
            "    inputs:\n"
            "      channel: '#incidents'\n"
            f"      message: '{key} {{{{ $trigger.incident_io.severity }}}}: "
            "{{ $trigger.incident_io.title }}'\n"
        )
    return (
        "name: storm\n"
        "trigger:\n  type: trigger.incident_io.incident.created\n"
        "steps:\n"
        "  - id: triage\n    type: condition\n"
        '    condition: "{{ $trigger.incident_io.severity in '
        "['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4'] }}\"\n"
        "    onTrue: [notify]\n"
        "  - id: notify\n" + action
    )


@dataclass
class Phase:
    """One load phase: latencies of the items routed, and the keys it sent."""

    latencies: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    timeouts: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        return (
            statistics.median(self.latencies) if q == 50 else percentile(self.latencies, q)
        ) * 1000


Send = Callable[[], Awaitable[tuple[str, float]]]  # key, latency


async def _caller(send: Send, phase: Phase, until: float | None, count: list[int]) -> float:
    loop = asyncio.get_running_loop()
    last = loop.time()
    while (until is None and count[0] > 0) or (until is not None and loop.time() < until):
        if until is None:
            count[0] -= 1
        try:
            key, latency = await send()
        except TimeoutError:
            phase.timeouts += 1
        except (httpx.HTTPError, RuntimeError) as exc:
            phase.failures.append(f"{type(exc).__name__}: {exc}")
        else:
            phase.keys.append(key)
            phase.latencies.append(latency)
        last = loop.time()
    return last


async def load(
    send: Send, *, clients: int, seconds: float | None = None, count: int = 0, pids: dict[str, int]
) -> Phase:
    """``clients`` callers for ``seconds`` (or ``count`` items in all), each awaiting its item."""
    loop = asyncio.get_running_loop()
    phase = Phase()
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = loop.time()
    until = start + seconds if seconds is not None else None
    left = [count]
    ends = await asyncio.gather(*(_caller(send, phase, until, left) for _ in range(clients)))
    phase.seconds = max(ends) - start
    phase.cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    return phase


def rensei_sender(up: Up, http: httpx.AsyncClient, sent: list[str]) -> Send:
    async def send() -> tuple[str, float]:
        started = time.monotonic()
        answer = await http.post(
            f"{up.incident_io_url}/_sim/incidents",
            json={"name": "Storm incident", "severity_id": SEVERITY_MINOR},
        )
        if answer.status_code != 201:
            raise RuntimeError(f"declare: {answer.status_code} {answer.text[:200]}")
        key = str(answer.json()["incident"]["id"])
        sent.append(key)
        arrived = await up.sink.wait(key, ITEM_TIMEOUT)
        return key, arrived - started

    return send


def floor_sender(
    up: Up, client: Client, queue: str, sent: list[str], shape: str = "FloorWorkflow"
) -> Send:
    """Signal-with-start of one of bench._floor's workflows, until its post reaches the sink."""

    async def send() -> tuple[str, float]:
        key = f"floor-{uuid.uuid4().hex[:12]}"
        started = time.monotonic()
        await client.start_workflow(
            shape,
            id=key,
            task_queue=queue,
            start_signal="hint",
            start_signal_args=[key],
        )
        sent.append(key)
        arrived = await up.sink.wait(key, ITEM_TIMEOUT)
        return key, arrived - started

    return send


@contextlib.asynccontextmanager
async def floor_worker(up: Up, queue: str) -> AsyncIterator[int]:
    process = spawn(
        [sys.executable, "-m", "bench._floor", up.temporal_address, queue, up.slack_url],
        env=up.env,
    )
    try:
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _drain(up: Up, sent: list[str]) -> tuple[int, int]:
    """(lost, duplicated) among ``sent`` once the stragglers had ``DRAIN_SECONDS``."""
    missing = [up.sink.wait(k, DRAIN_SECONDS) for k in sent if k not in up.sink.arrivals]
    await asyncio.gather(*missing, return_exceptions=True)
    await asyncio.sleep(1.0)  # a late duplicate has a moment to show
    lost = sum(1 for k in sent if k not in up.sink.arrivals)
    duplicated = sum(1 for k in sent if len(up.sink.arrivals.get(k, [])) > 1)
    return lost, duplicated


@dataclass
class Costs:
    """What an incident costs besides time: incident.io calls and history events."""

    calls_new: int = 0
    """incident.io requests naming a routed storm incident (its GET, updates, timeline)."""
    incidents: int = 0
    updates: int = 0
    events_per_update: list[int] = field(default_factory=list)
    """History events each update (no definition listening) added to its incident workflow."""
    calls_per_update: list[int] = field(default_factory=list)


def _calls_about(up: Up, incident_id: str) -> int:
    return sum(
        1 for r in up.incident_io.requests if incident_id in r.path or incident_id in r.query
    )


async def _history_length(client: Client, incident_id: str) -> int:
    handle = client.get_workflow_handle(incident_workflow_id("default", incident_id))
    return (await handle.describe()).history_length


async def _settled_length(client: Client, incident_id: str, before: int) -> int:
    """The history length once it grew past ``before`` and then stayed put ``SETTLED`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ITEM_TIMEOUT
    length, since = before, loop.time()
    while loop.time() < deadline:
        now = await _history_length(client, incident_id)
        if now != length:
            length, since = now, loop.time()
        elif length > before and loop.time() - since >= SETTLED:
            return length
        await asyncio.sleep(0.1)
    raise TimeoutError(f"incident {incident_id}: history never settled after the update")


async def update_costs(
    up: Up, client: Client, http: httpx.AsyncClient, keys: list[str], costs: Costs
) -> None:
    """Changes the severity of ``UPDATES`` routed incidents, one at a time: each change is one
    ``updated`` event that no definition listens to (the storm's is on ``created``)."""
    for key in keys[:UPDATES]:
        before = await _settled_length(client, key, 0)
        calls = _calls_about(up, key)
        answer = await http.post(
            f"{up.incident_io_url}/_sim/incidents/{key}/severity",
            json={"severity_id": SEVERITY_MAJOR},
        )
        if answer.status_code != 200:
            raise RuntimeError(f"severity change: {answer.status_code} {answer.text[:200]}")
        after = await _settled_length(client, key, before)
        costs.events_per_update.append(after - before)
        costs.calls_per_update.append(_calls_about(up, key) - calls)
        costs.updates += 1


@dataclass
class Result:
    phases: dict[str, Phase]
    integrity: dict[str, tuple[int, int, int]]  # sent, lost, duplicated
    extra_env: dict[str, str]
    node: str
    costs: Costs = field(default_factory=Costs)


async def run(
    *, clients: int, seconds: float, sequential: int, node: str, extra_env: dict[str, str]
) -> Result:
    rate = int(extra_env.get("RENSEI_INCIDENT_IO_REQUESTS_PER_MINUTE", "1200"))
    async with (
        stack_up(rate_limit_per_minute=max(rate * 2, 1200), extra_env=extra_env) as up,
        httpx.AsyncClient(timeout=30) as http,
    ):
        if node == "http.request":
            await allow_loopback(up)
        await put_definition(up, "storm", definition(node, up.sink_url))
        client = await Client.connect(up.temporal_address)
        queue = f"floor-{uuid.uuid4().hex[:6]}"
        async with floor_worker(up, queue) as floor_pid:
            pids = up.children()
            rensei_pids = {k: v for k, v in pids.items() if k != "api"} | {"api": pids["api"]}
            floor_pids = {"temporal": pids["temporal"], "floor worker": floor_pid}
            sent: dict[str, list[str]] = {"rensei": [], "floor": []}
            rensei = rensei_sender(up, http, sent["rensei"])
            floor = floor_sender(up, client, queue, sent["floor"])
            for send in (rensei, floor):  # warm-up, and proof that both paths work
                for _ in range(WARM_UP):
                    await send()
            sent = {"rensei": [], "floor": []}
            rensei = rensei_sender(up, http, sent["rensei"])
            floor = floor_sender(up, client, queue, sent["floor"])
            phases = {
                "floor-storm": await load(floor, clients=clients, seconds=seconds, pids=floor_pids),
                "rensei-storm": await load(
                    rensei, clients=clients, seconds=seconds, pids=rensei_pids
                ),
                "floor-seq": await load(floor, clients=1, count=sequential, pids=floor_pids),
                "rensei-seq": await load(rensei, clients=1, count=sequential, pids=rensei_pids),
            }
            integrity = {}
            for name, keys in sent.items():
                lost, duplicated = await _drain(up, keys)
                integrity[name] = (len(keys), lost, duplicated)
            costs = Costs()
            routed = [k for k in sent["rensei"] if k in up.sink.arrivals]
            costs.calls_new = sum(_calls_about(up, k) for k in routed)
            costs.incidents = len(routed)
            await update_costs(up, client, http, routed, costs)
    return Result(phases, integrity, extra_env, node, costs)


def _cpu_ms(phase: Phase) -> str:
    routed = max(1, len(phase.latencies))
    return ", ".join(f"{name} {cpu / routed * 1000:.0f}" for name, cpu in phase.cpu.items())


def _spread(values: list[int]) -> str:
    """``7`` when all are equal, else ``min-max (median m)``."""
    if not values:
        return "none measured"
    low, high = min(values), max(values)
    if low == high:
        return str(low)
    return f"{low}-{high} (median {statistics.median(values):g})"


def _goal(events: list[int]) -> str:
    """The events goal: met by every update, by the median only, or missed."""
    if not events:
        return "not measured"
    if max(events) <= 8:
        return "met by every update"
    if statistics.median(events) <= 8:
        return (
            f"met by the median; **missed** by {sum(1 for e in events if e > 8)} of {len(events)}"
        )
    return "**missed**"


def section(result: Result, *, command: str, clients: int, seconds: float, sequential: int) -> str:
    p, c = result.phases, result.costs
    fs, rs, fq, rq = p["floor-storm"], p["rensei-storm"], p["floor-seq"], p["rensei-seq"]
    rows = []
    for label, rensei, floor in (
        (f"{clients} clients for {seconds:g} s", rs, fs),
        (f"{sequential} one at a time", rq, fq),
    ):
        rows.append(
            f"| {label} | **{rensei.rate:.1f}/s** ({len(rensei.latencies)}) "
            f"| {floor.rate:.1f}/s ({len(floor.latencies)}) | **{rensei.rate / floor.rate:.2f}** "
            f"| {rensei.ms(50):.0f} / {rensei.ms(99):.0f} | {floor.ms(50):.0f} / {floor.ms(99):.0f} "
            f"| {rensei.timeouts} / {floor.timeouts} |"
        )
    sent_r, lost_r, dup_r = result.integrity["rensei"]
    sent_f, lost_f, dup_f = result.integrity["floor"]
    settings = ", ".join(f"`{k}={v}`" for k, v in result.extra_env.items()) or "none"
    sink = (
        "`POST /sink` of the plain sink, 127.0.0.1 on the workspace's HTTP allowlist"
        if result.node == "http.request"
        else "`chat.postMessage` to the Slack simulator, then `chat.getPermalink`"
    )
    return f"""## Incident storm

Command: `{command}`. The machine was shared with other engineers' test runs while this ran
(2 cores): read the ratios, not the absolute figures.

`rensei up` as a child process (dev server on a WAL SQLite file, the worker processes, the
API); besides ports, data folder, provider URLs and tokens and the worker metrics endpoint
(off, so that parallel runs do not clash), settings changed from the defaults: {settings}. This process serves the incident.io
simulator (incidents declared with `POST /_sim/incidents`, webhooks signed and sent to the
API), the Slack simulator (per-channel post limit off) and a plain HTTP sink. One
definition, `created -> condition on severity -> {result.node}` ({sink}); an incident counts
as routed when the sink notes its key, and its latency runs from the declare call to
then. The floor: `FloorWorkflow` (bench/_floor.py), one signal-with-start and one activity
posting to the Slack simulator, its worker in its own process on the same Temporal server, same
clients. Phases in order: floor storm, rensei storm, floor one at a time, rensei one at a
time; after {WARM_UP} warm-up items of each.

| load | rensei routed/s (n) | floor/s (n) | ratio | rensei p50 / p99 ms | floor p50 / p99 ms | not routed within {ITEM_TIMEOUT:.0f} s (rensei / floor) |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Integrity after a {DRAIN_SECONDS:.0f} s drain: rensei {sent_r} incidents declared, **{lost_r} lost**,
**{dup_r} duplicated**; floor {sent_f} items, {lost_f} lost, {dup_f} duplicated.

CPU per routed item during the storm (ms): rensei {_cpu_ms(rs)}; floor {_cpu_ms(fs)}.

What an incident costs besides time: **{c.calls_new} incident.io calls for {c.incidents} new
incidents** (requests naming one: its GET, updates, timeline items; the severity list is
cached per worker);
then {c.updates} routed incidents had their severity changed one at a time (one `updated` event
each, which no definition listens to): **{_spread(c.events_per_update)} history events** and
{_spread(c.calls_per_update)} incident.io calls per update (the incident workflow's history
length before the change and once it stayed put for {SETTLED:g} s).

Goals: >= 24/s under the storm ({"met" if rs.rate >= 24 else "**missed**"}, {rs.rate:.1f}/s);
one at a time p50 <= 150 ms and p99 <= 500 ms
({"met" if rq.ms(50) <= 150 and rq.ms(99) <= 500 else "**missed**"}, {rq.ms(50):.0f} / {rq.ms(99):.0f} ms);
history events per `updated` event with no definition listening <= 8
({_goal(c.events_per_update)});
incident.io calls per new public incident 0 ({"met" if c.calls_new == 0 else "**missed**"}).
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.storm", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s storm, 30 sequential")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--sequential", type=int)
    parser.add_argument("--node", choices=["http.request", "slack.post"], default="http.request")
    parser.add_argument(
        "--budget", type=int, help="RENSEI_INCIDENT_IO_REQUESTS_PER_MINUTE (default: unchanged)"
    )
    parser.add_argument("--workers", type=int, help="RENSEI_WORKERS (default: unchanged)")
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for the stack")
    args, _ = parser.parse_known_args(argv)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    sequential = args.sequential or (30 if args.quick else 200)
    extra = dict(item.split("=", 1) for item in args.env)
    if args.budget:
        extra["RENSEI_INCIDENT_IO_REQUESTS_PER_MINUTE"] = str(args.budget)
    if args.workers:
        extra["RENSEI_WORKERS"] = str(args.workers)
    result = asyncio.run(
        run(
            clients=args.clients,
            seconds=seconds,
            sequential=sequential,
            node=args.node,
            extra_env=extra,
        )
    )
    parts = [".venv/bin/python -m bench.storm"] + (["--quick"] if args.quick else [])
    parts += [f"--seconds {seconds:g}"] if args.seconds else []
    parts += [f"--sequential {sequential}"] if args.sequential else []
    parts += [f"--node {args.node}"] if args.node != "http.request" else []
    parts += [f"--budget {args.budget}"] if args.budget else []
    parts += [f"--workers {args.workers}"] if args.workers else []
    parts += [f"--env {item}" for item in args.env]
    body = section(
        result,
        command=" ".join(parts),
        clients=args.clients,
        seconds=seconds,
        sequential=sequential,
    )
    suffix = "-quick" if args.quick else ""
    suffix += "-slack" if args.node == "slack.post" else ""
    suffix += "-budget" if args.budget else ""
    write_section("storm" + suffix, body)
    print(body)


if __name__ == "__main__":
    main()
