"""Workflow shapes per incident, against the bare Temporal floor, on the stack's Temporal.

The prototype behind docs/decisions/0003-one-workflow-per-incident.md: hand-written
workflows (bench/_floor.py) shaped like rensei's path today (an incident workflow with two
activities and a child run doing the action) and like the candidates (one workflow per
incident, the definition look-up as a local activity, the action as an activity or as a
local activity). Each item is a signal-with-start that ends with one post to the Slack
sink; the worker runs in its own process on the Temporal server ``rensei up`` started.

    .venv/bin/python -m bench.one_workflow            # 20 clients for 20 s, 100 sequential
    .venv/bin/python -m bench.one_workflow --quick    # 20 clients for 5 s, 20 sequential
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

import httpx
from temporalio.client import Client

from bench._floor import SHAPES
from bench._up import stack_up
from bench.report import write_section
from bench.storm import WARM_UP, Phase, floor_sender, floor_worker, load

DESCRIPTIONS = {
    "FloorWorkflow": "floor: 1 workflow, 1 activity (the post)",
    "TwoWorkflowsShape": "today's shape: 2 activities, a child workflow, its post activity",
    "OneWorkflowShape": "1 workflow: 1 local activity, the post as an activity",
    "OneWorkflowLocalShape": "1 workflow: 1 local activity, the post as a local activity",
}


async def _events(client: Client, workflow_id: str, shape: str) -> int:
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()
    count = len((await handle.fetch_history()).events)
    if shape == "TwoWorkflowsShape":
        child = client.get_workflow_handle(f"{workflow_id}-child")
        await child.result()
        count += len((await child.fetch_history()).events)
    return count


async def run(
    *, clients: int, seconds: float, sequential: int
) -> dict[str, tuple[Phase, Phase, int]]:
    async with stack_up() as up, httpx.AsyncClient(timeout=30):
        client = await Client.connect(up.temporal_address)
        queue = f"shapes-{uuid.uuid4().hex[:6]}"
        async with floor_worker(up, queue) as pid:
            pids = {"temporal": up.children()["temporal"], "worker": pid}
            storms: dict[str, Phase] = {}
            events: dict[str, int] = {}
            for shape in SHAPES:
                sent: list[str] = []
                send = floor_sender(up, client, queue, sent, shape)
                for _ in range(WARM_UP):
                    await send()
                events[shape] = await _events(client, sent[-1], shape)
                storms[shape] = await load(send, clients=clients, seconds=seconds, pids=pids)
            found = {}
            for shape in SHAPES:
                send = floor_sender(up, client, queue, [], shape)
                one = await load(send, clients=1, count=sequential, pids=pids)
                found[shape] = (storms[shape], one, events[shape])
    return found


def section(
    found: dict[str, tuple[Phase, Phase, int]], command: str, clients: int, seconds: float
) -> str:
    floor_storm = found["FloorWorkflow"][0]
    rows = []
    for shape, (storm, one, events) in found.items():
        cpu = {k: v / max(1, len(storm.latencies)) * 1000 for k, v in storm.cpu.items()}
        rows.append(
            f"| {DESCRIPTIONS[shape]} | {storm.rate:.1f}/s | **{storm.rate / floor_storm.rate:.2f}** "
            f"| {storm.ms(50):.0f} / {storm.ms(99):.0f} | {one.ms(50):.0f} / {one.ms(99):.0f} "
            f"| {cpu['temporal']:.0f} / {cpu['worker']:.0f} | {events} |"
        )
    return f"""## Workflow shapes per incident (prototype)

Command: `{command}`. The machine was shared with other engineers' test runs (2 cores):
read the ratios to the floor, measured in the same run, not the absolute figures.

Hand-written workflows in bench/_floor.py, one worker process, on the Temporal dev server
`rensei up` starts (WAL SQLite file); each item is a signal-with-start ending with one post
to the Slack sink. The storm column: {clients} clients for {seconds:g} s per shape, one shape
after the other; then each shape one item at a time. The decision drawn from these figures is
docs/decisions/0003-one-workflow-per-incident.md.

| shape | storm items/s | ratio to floor | storm p50 / p99 ms | one at a time p50 / p99 ms | CPU ms per item, Temporal / worker | history events per item |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.one_workflow", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s storms, 20 sequential")
    parser.add_argument("--clients", type=int, default=20)
    args, _ = parser.parse_known_args(argv)
    seconds = 5.0 if args.quick else 20.0
    sequential = 20 if args.quick else 100
    found = asyncio.run(run(clients=args.clients, seconds=seconds, sequential=sequential))
    command = ".venv/bin/python -m bench.one_workflow" + (" --quick" if args.quick else "")
    body = section(found, command, args.clients, seconds)
    write_section("one-workflow" + ("-quick" if args.quick else ""), body)
    print(body)


if __name__ == "__main__":
    main()
