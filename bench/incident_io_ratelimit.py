"""incident.io rate limit: N queued node calls, two worker processes, one per-minute budget.

Runs a dev server (one task-queue partition, so the server-side activity rate is exact),
the incident.io simulator in this process (1200/min per key, like incident.io), and two
worker processes built by ``worker.build_workers`` with the default settings: the limit
``RENSEI_INCIDENT_IO_REQUESTS_PER_MINUTE`` (1,200, incident.io's) less the headroom gives
the call budget (1,080/min). One workflow schedules every call at once; the simulator
records when each request arrived. Reports the largest count in any 60-second (and
10-second) window, the achieved rate against the budget and the 429s received.

    .venv/bin/python -m bench.incident_io_ratelimit            # 2,000 calls, 1,200/min limit
    .venv/bin/python -m bench.incident_io_ratelimit --quick    # 300 calls
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from interpreter.plan import NodeCall, NodeContext

PARTITION_ARGS = [
    "--dynamic-config-value",
    "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value",
    "matching.numTaskqueueWritePartitions=1",
]


@workflow.defn(name="BenchIncidentIoFanOut")
class FanOutWorkflow:
    """Schedules ``calls`` incident_io.incident.get activities at once."""

    @workflow.run
    async def run(self, calls: int, queue: str) -> int:
        info = workflow.info()

        async def one(i: int) -> Any:
            context = NodeContext(
                workflow_id=info.workflow_id, run_id=info.run_id, step_id=f"s{i}", definition="b"
            )
            return await workflow.execute_activity(
                "incident_io.incident.get",
                NodeCall(context=context, inputs={"incidentId": "INC-2"}),
                task_queue=queue,
                start_to_close_timeout=timedelta(seconds=60),
                result_type=dict,
            )

        results = await asyncio.gather(*(one(i) for i in range(calls)))
        return len(results)


async def _worker_process(address: str, base_url: str, per_minute: int) -> None:
    import temporal_client
    import worker
    from settings import Settings
    from simulators.incident_io import SANDBOX_TOKEN

    settings = Settings(
        temporal_address=address,
        incident_io_base_url=base_url,
        incident_io_token=SANDBOX_TOKEN,
        incident_io_requests_per_minute=per_minute,
    )
    client = await temporal_client.connect(settings)
    workers = [
        w
        for w in worker.build_workers(client, settings)
        if w.task_queue == settings.incident_io_task_queue
    ]
    await asyncio.gather(*(w.run() for w in workers))


def _max_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def _bench(calls: int, per_minute: int, processes: int) -> dict[str, Any]:
    from settings import Settings
    from simulators.incident_io import SimulatorState, create_app
    from simulators.server import serve
    from stack import devserver

    queue = Settings().incident_io_task_queue
    state = SimulatorState()
    async with (
        serve(create_app(state)) as sim_url,
        await devserver.start_local(
            data_converter=pydantic_data_converter, dev_server_extra_args=PARTITION_ARGS
        ) as env,
    ):
        client: Client = env.client
        address = client.service_client.config.target_host
        bench_queue = f"bench-{uuid.uuid4().hex[:8]}"
        async with Worker(
            client,
            task_queue=bench_queue,
            workflows=[FanOutWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await client.start_workflow(
                FanOutWorkflow.run,
                args=[calls, queue],
                id=f"fan-{uuid.uuid4()}",
                task_queue=bench_queue,
            )
            await asyncio.sleep(2.0)  # let the workflow queue every call first
            state.requests.clear()
            children = [
                subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
                    [
                        sys.executable,
                        "-m",
                        "bench.incident_io_ratelimit",
                        "--worker",
                        address,
                        sim_url,
                        str(per_minute),
                    ]
                )
                for _ in range(processes)
            ]
            try:
                started = time.monotonic()
                done = await handle.result()
                elapsed = time.monotonic() - started
            finally:
                for child in children:
                    child.terminate()
                for child in children:
                    child.wait(timeout=30)
    budget = Settings(incident_io_requests_per_minute=per_minute).incident_io_call_budget_per_minute
    stamps = sorted(r.at.timestamp() for r in state.requests)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    rate = (len(stamps) - 1) / span * 60 if span else 0.0
    return {
        "calls": done,
        "http_requests": len(stamps),
        "limit_per_minute": per_minute,
        "budget_per_minute": round(budget, 1),
        "worker_processes": processes,
        "max_in_any_60s": _max_in_window(stamps, 60.0),
        "max_in_any_10s": _max_in_window(stamps, 10.0),
        "achieved_per_minute": round(rate, 1),
        "achieved_share_of_budget": round(rate / budget, 3),
        "http_429": sum(1 for r in state.requests if r.status == 429),
        "wall_seconds": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.incident_io_ratelimit")
    parser.add_argument("--quick", action="store_true", help="300 calls (about 40 s)")
    parser.add_argument("--calls", type=int)
    parser.add_argument("--per-minute", type=int, default=1200, help="the rate limit setting")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--worker", nargs=3, metavar=("ADDRESS", "BASE_URL", "PER_MINUTE"))
    args = parser.parse_args(argv)
    if args.worker:
        address, base_url, per_minute = args.worker
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_worker_process(address, base_url, int(per_minute)))
        return
    calls = args.calls or (300 if args.quick else 2000)
    result = asyncio.run(_bench(calls, args.per_minute, args.processes))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
