"""The seed document's examples (SPEC 7, 8, 8a) run unchanged in the sandbox: the expected
branch, no failed step, and the message in the channel the example names."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request

from activities.catalogue import default_catalogue
from interpreter.compiler import compile_file, compile_text
from settings import Settings
from simulators.server import serve
from stack.runner import _run
from stack.sandbox import Sandbox, sandbox
from stack.sandbox_seed import seed_from_trigger

pytestmark = pytest.mark.asyncio
EXAMPLES = Path(__file__).parents[2] / "examples"

# event -> [(example, steps that must complete)]
CASES = {
    "sev1": [
        ("seed-page-oncall", {"page_oncall"}),
        ("seed-language", {"wake_exec", "call_agent", "note"}),
        ("seed-routing", {"escalate_to_exec", "page_oncall", "dispatch_agent"}),
    ],
    "sev2": [
        ("seed-routing", {"notify_team", "dispatch_agent"}),
        ("seed-nodes", {"acknowledge", "open_incidents", "raise_severity", "agent", "record"}),
    ],
    "sev3": [
        ("seed-routing", {"create_linear_issue", "notify_slack"}),
        ("seed-language", {"open_ticket", "note"}),
    ],
}
# what all of them post together, by the channel the examples name
POSTED = {"#oncall": 2, "#exec": 2, "#eng-team": 1, "#incidents": 1}


async def test_seed_examples_take_their_branch_without_a_failed_step(tmp_path: Path) -> None:
    events = {e: json.loads((EXAMPLES / "events" / f"{e}.json").read_text()) for e in CASES}
    async with sandbox(Settings(data_dir=tmp_path), events["sev1"]) as box:
        # one sandbox for every event: the other events' incidents are declared in it too
        triggers = {e: box.trigger if e == "sev1" else seed(box, t) for e, t in events.items()}

        async def check(event: str, name: str, completed: set[str]) -> None:
            plan = compile_file(EXAMPLES / f"{name}.yaml", catalogue=default_catalogue())
            outcome = await _run(
                box.client,
                box.task_queue,
                plan,
                triggers[event],
                workspace="default",
                incident_io_task_queue=box.incident_io_task_queue,
            )
            statuses = {s["id"]: s["status"] for s in outcome["steps"]}
            assert outcome["status"] == "completed", (name, event, outcome)
            assert "failed" not in statuses.values(), (name, event, statuses)
            assert {s for s, v in statuses.items() if v == "completed"} >= completed, name

        await asyncio.gather(*(check(e, n, c) for e, cases in CASES.items() for n, c in cases))
        posted = {c: len(box.sims.slack.channel_messages(c)) for c in POSTED}
    assert posted == POSTED


def seed(box: Sandbox, trigger: dict[str, Any]) -> dict[str, Any]:
    return seed_from_trigger(box.sims.incident_io, trigger)


HTTP = """name: runbook
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: call
    type: http.request
    inputs:
      method: POST
      url: "{url}/runbook"
      json: {{incident: "{{{{ $trigger.incident_io.reference }}}}"}}
"""


async def test_http_request_reaches_a_local_endpoint_in_the_sandbox(tmp_path: Path) -> None:
    app = FastAPI()
    seen: list[Any] = []

    @app.post("/runbook")
    async def runbook(request: Request) -> dict[str, str]:
        seen.append((await request.json(), request.headers.get("idempotency-key")))
        return {"started": "yes"}

    trigger = json.loads((EXAMPLES / "events" / "sev1.json").read_text())
    async with serve(app) as url, sandbox(Settings(data_dir=tmp_path), trigger) as box:
        plan = compile_text(
            HTTP.format(url=url), file="runbook.yaml", catalogue=default_catalogue()
        )
        outcome = await _run(
            box.client,
            box.task_queue,
            plan,
            box.trigger,
            workspace="default",
            incident_io_task_queue=box.incident_io_task_queue,
        )
    assert outcome["status"] == "completed", outcome
    assert outcome["steps"][0]["output"]["json"] == {"started": "yes"}
    [(body, key)] = seen
    assert body == {"incident": "INC-42"} and key is not None and key.endswith("/call")
