"""deploy/temporal-setup.sh, run with the real `temporal` CLI against a dev server that has
none of rensei's search attributes: it creates them, is idempotent, and fails loudly."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from contracts.search import ALL_KEYS
from simulators.server import free_port
from stack import devserver

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "temporal-setup.sh"
pytestmark = [pytest.mark.asyncio, pytest.mark.devserver]


async def run_setup(address: str, names: str, attempts: str = "30") -> tuple[int, str]:
    env = dict(
        os.environ,
        PATH=f"{devserver.binary('temporal').parent}{os.pathsep}{os.environ['PATH']}",
        TEMPORAL_ADDRESS=address,
        TEMPORAL_NAMESPACE="default",
        SEARCH_ATTRIBUTES=names,
        HEALTH_ATTEMPTS=attempts,
    )
    process = await asyncio.create_subprocess_exec(
        "/bin/sh",
        str(SCRIPT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_setup_creates_every_search_attribute_once() -> None:
    names = " ".join(key.name for key in ALL_KEYS) + " IncidentReference"
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(devserver.binary("temporal")),
        dev_server_log_level="error",
    ) as env:
        address = env.client.service_client.config.target_host
        code, out = await run_setup(address, names)
        assert code == 0, out
        assert out.count("created") == len(names.split())
        again, out = await run_setup(address, names)
        assert again == 0, out
        assert "created" not in out.replace("namespace default created", "")
        listed = await env.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=env.client.namespace)
        )
        assert set(names.split()) <= set(listed.custom_attributes)


async def test_setup_fails_when_temporal_never_answers() -> None:
    code, out = await run_setup(f"127.0.0.1:{free_port()}", "IncidentId", attempts="1")
    assert code != 0
    assert "not healthy after 1 attempts" in out
