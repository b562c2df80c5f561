"""How ``worker.build_workers`` configures the workflow worker, and how many ``make run`` starts."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import worker
from settings import Settings
from stack import supervisor


@pytest.mark.asyncio
async def test_the_workflow_worker_passes_rensei_through_and_bounds_its_cache(
    tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    # Queues of its own: a built Worker stays registered on the shared client's queues.
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=tmp_path,
        worker_max_cached_workflows=40,
        task_queue=f"tq-{suffix}",
        incident_io_task_queue=f"tq-io-{suffix}",
    )
    async with httpx.AsyncClient() as http:
        main, _ = worker.build_workers(dev_env.client, settings, activities=[], http=http)
    config = main.config()
    assert config.get("max_cached_workflows") == 40
    assert config.get("max_concurrent_workflow_tasks") == 40
    runner = config.get("workflow_runner")
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert {
        "workflows",
        "interpreter",
        "contracts",
        "activities",
    } <= runner.restrictions.passthrough_modules


def test_make_run_starts_one_worker_process_per_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    metrics: list[str | None] = []

    def spawn(name: str, command: list[str], *, env: dict[str, str]) -> Any:
        started.append(name)
        metrics.append(env.get("RENSEI_WORKER_METRICS_PORT"))
        return supervisor.Child(name, subprocess.Popen(["true"]))

    monkeypatch.setattr(supervisor, "_spawn", spawn)
    monkeypatch.setattr(supervisor, "_check_ports", lambda settings, sandbox=False: None)
    monkeypatch.setattr(supervisor, "wait_for_port", lambda *a, **k: None)
    settings = Settings(
        data_dir=tmp_path, temporal_address="127.0.0.1:1", workers=3, worker_metrics_port=29464
    )
    children = supervisor.start_children(settings)
    for child in children:
        child.process.wait()
    assert started == ["worker", "worker-2", "worker-3", "api"]
    assert metrics[:3] == ["29464", "29465", "29466"]


def test_the_default_worker_count_follows_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert Settings().workers == 4
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert Settings().workers == 1
