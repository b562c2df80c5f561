"""Two definitions that page the same channel for the same trigger both run; explain shows both."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.definitions import store_definition
from simulators.incident_io.seed import SEVERITY_EMERGENCY
from stack.explain import render
from tests.e2e.test_incident_flow import declare, explain, result_of, stack

pytestmark = pytest.mark.asyncio

PAGE = """name: {name}
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: page
    type: debug.echo
    inputs: {{channel: "#oncall", message: "paging for {{{{ $trigger.incident_io.reference }}}}"}}
"""


async def test_both_pagers_run_and_explain_names_both(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with stack(dev_env, tmp_path, webhooks=True) as s:
        for name in ("sre-page", "team-page"):
            await store_definition(s.store, "default", name, PAGE.format(name=name))
        incident_id = await declare(s, SEVERITY_EMERGENCY)
        for name in ("sre-page", "team-page"):
            assert (await result_of(s, incident_id, name)).status == "completed"
        report = await explain(s.temporal, incident_id)
    started = {d.definition for d in report.events[0].decisions if d.outcome == "started"}
    assert {"sre-page", "team-page"} <= started
    text = render(report)
    assert "sre-page v1: trigger matched" in text and "team-page v1: trigger matched" in text
