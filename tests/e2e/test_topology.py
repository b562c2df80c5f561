"""The docker-compose topology, tested here: two APIs and two workers started as the compose
services are, a stream of signed webhooks to both APIs, one API and one worker killed -9
mid-stream and restarted. Every acknowledged event is processed, each side effect happens
exactly once, and no run is left running."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from bench._cluster import PER_REPLICA, WHERE, Cluster, cluster, local_command
from tests.e2e.test_incident_flow import eventually

pytestmark = [pytest.mark.asyncio, pytest.mark.devserver]

EVENTS = 30
KILL_AFTER = 10


async def _stream(found: Cluster, http: httpx.AsyncClient, *, killed: asyncio.Event) -> list[str]:
    incidents: list[str] = []
    pending: list[asyncio.Task[None]] = []
    for index in range(EVENTS):
        if index == KILL_AFTER:
            await asyncio.gather(found.apis[0].kill(), found.workers[0].kill())
            killed.set()
        if index == KILL_AFTER + 2:  # back while the stream goes on
            await asyncio.gather(found.apis[0].start(), found.workers[0].start())
        incident_id = found.new_incident()
        incidents.append(incident_id)
        pending.append(asyncio.create_task(found.deliver(http, incident_id, first=index)))
        await asyncio.sleep(0.1)
    await asyncio.gather(*pending)
    return incidents


async def test_kill_9_of_an_api_and_a_worker_mid_stream_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    postgres = os.environ.get("RENSEI_TEST_DATABASE_URL")
    async with cluster(tmp_path, postgres=postgres) as found:
        assert len({p.service.name for p in found.workers}) == 2  # worker-1 and worker-2
        for process in found.processes:  # started as docker compose starts the service
            service = process.service
            assert process.command == local_command(service)
            assert set(service.environment) <= set(process.env)
            for variable, value in service.environment.items():
                if variable not in WHERE + PER_REPLICA and "${" not in value:
                    assert process.env[variable] == value, variable
        killed = asyncio.Event()
        async with httpx.AsyncClient(timeout=10.0) as http:
            incidents = await _stream(found, http, killed=killed)
        assert killed.is_set()
        assert found.apis[0].starts >= 2 and found.workers[0].starts >= 2
        assert found.acknowledged == set(incidents)
        client = await found.client()

        async def drained() -> bool | None:
            effects = found.side_effects()
            runs = await found.runs(client)
            done = all(effects[i] >= 1 for i in incidents) and runs["Running"] == 0
            return True if done else None

        # The restarted pair gets ready while the rest drains. An activity that was running on
        # the killed worker is retried only when its start-to-close timeout ends (60 s for the
        # incident fetch), hence the bound.
        await asyncio.gather(
            found.wait_ready(found.processes, seconds=60), eventually(drained, seconds=120)
        )
        effects = found.side_effects()
        assert {i: effects[i] for i in incidents} == dict.fromkeys(incidents, 1)
        runs = await found.runs(client)
        assert runs == {"Completed": EVENTS}
