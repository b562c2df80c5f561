"""Records the histories that test_replay.py replays: run after a deliberate, patched change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from temporalio.client import WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.debug import echo
from interpreter.compiler import compile_text
from stack import devserver
from workflows.interpreter import InterpreterWorkflow, InterpretInput

from .helpers import CATALOGUE, FAKE_ACTIVITIES
from .test_replay import CASES, HISTORIES


def _trigger(extra: dict[str, Any]) -> dict[str, Any]:
    return {"incident_io": {"incident_id": "01REPLAY", "title": "Replay me", **extra}}


async def record() -> None:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    async with await devserver.start_time_skipping(data_converter=pydantic_data_converter) as env:
        queue = f"record-{uuid.uuid4().hex[:6]}"
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[InterpreterWorkflow],
            activities=[echo, *FAKE_ACTIVITIES],
        ):
            for name, (text, file, extra) in CASES.items():
                plan = compile_text(text, file=file, catalogue=CATALOGUE)
                handle = await env.client.start_workflow(
                    InterpreterWorkflow.run,
                    InterpretInput(plan=plan, trigger=_trigger(extra), set_search_attributes=False),
                    id=f"replay-{name}",
                    task_queue=queue,
                )
                with contextlib.suppress(WorkflowFailureError):
                    await handle.result()
                history = await handle.fetch_history()
                path = HISTORIES / f"{name}.json"
                path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(record())
