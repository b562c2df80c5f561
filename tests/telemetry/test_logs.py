"""RENSEI_LOG_FORMAT=json: one JSON object per line, with the ids known where a record is
logged (API context, activity info and input, workflow info and search attributes), and
nothing else from the call; text stays the default."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import temporal_client
from contracts import search
from interpreter.plan import NodeCall, NodeContext
from settings import Settings
from telemetry import logs


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self, logger: str) -> list[dict[str, str]]:
        return [e for e in map(json.loads, self.lines) if e["logger"] == logger]


@pytest.fixture
def collected() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_record_is_one_json_line_with_the_bound_ids(collected: Collect) -> None:
    log = logging.getLogger("rensei.test")
    with logs.bound(workspace="acme", incident="01INC"):
        log.info("line one\nline two", extra={"token": "xoxb-must-not-appear"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    log.info("outside")
    assert all("\n" not in line for line in collected.lines)
    first, failed, outside = collected.entries("rensei.test")
    assert first["message"] == "line one\nline two"
    assert (first["workspace"], first["incident"], first["level"]) == ("acme", "01INC", "INFO")
    assert "xoxb-must-not-appear" not in collected.lines[0]
    assert "ValueError: boom" in failed["error"]
    assert "workspace" not in outside


def test_text_stays_the_default() -> None:
    assert Settings().log_format == "text"
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        logs.configure("INFO", "text")
        (handler,) = root.handlers
        assert not isinstance(handler.formatter, logs.JsonFormatter)
        logs.configure("INFO", "json")
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@activity.defn(name="logs.probe")
async def probe(call: NodeCall) -> str:
    logging.getLogger("rensei.provider").info("calling the provider")
    activity.logger.info("activity logger")
    return "ok"


@workflow.defn(sandboxed=False)
class LoggingWorkflow:
    @workflow.run
    async def run(self, call: NodeCall) -> str:
        workflow.logger.info("workflow says")
        return await workflow.execute_activity(
            probe, call, start_to_close_timeout=timedelta(seconds=10)
        )


@pytest.mark.asyncio
@pytest.mark.devserver
async def test_workflow_and_activity_records_carry_run_ids(
    dev_env: WorkflowEnvironment, task_queue: str, collected: Collect
) -> None:
    settings = Settings(temporal_address=dev_env.client.service_client.config.target_host)
    client = await temporal_client.connect(settings)
    run = f"logs-{uuid.uuid4().hex[:8]}"
    call = NodeCall(
        context=NodeContext(
            workspace="acme",
            workflow_id=run,
            run_id="r",
            step_id="notify",
            definition="route",
            incident_id="01INC",
        ),
        inputs={},
    )
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(search.WORKSPACE, "acme"),
            SearchAttributePair(search.INCIDENT_ID, "01INC"),
            SearchAttributePair(search.DEFINITION_NAME, "route"),
        ]
    )
    async with Worker(
        client, task_queue=task_queue, workflows=[LoggingWorkflow], activities=[probe]
    ):
        await client.execute_workflow(
            LoggingWorkflow.run, call, id=run, task_queue=task_queue, search_attributes=attributes
        )
    (wf,) = [
        e
        for e in collected.entries("temporalio.workflow")
        if e["message"].startswith("workflow says")
    ]
    assert (wf["run"], wf["workspace"], wf["incident"], wf["definition"]) == (
        run,
        "acme",
        "01INC",
        "route",
    )
    assert wf["run_id"]
    (provider,) = collected.entries("rensei.provider")
    expected = {"run": run, "workspace": "acme", "incident": "01INC", "definition": "route"}
    assert {k: provider[k] for k in expected} == expected
    assert (provider["step"], provider["node"]) == ("notify", "logs.probe")
    (own,) = [
        e
        for e in collected.entries("temporalio.activity")
        if e["message"].startswith("activity logger")
    ]
    assert own["step"] == "notify" and own["run"] == run
