"""The baseline: five actions written by hand as a Temporal workflow, same activities and options."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from interpreter.plan import NodeCall, NodeContext


@workflow.defn(name="HandWrittenFiveActions")
class HandWrittenFiveActions:
    """What a developer would write instead of the YAML definition."""

    @workflow.run
    async def run(self, trigger: dict[str, Any]) -> dict[str, Any]:
        info = workflow.info()
        incident = trigger["incident_io"]
        outputs: dict[str, Any] = {}
        previous = ""
        for index in range(1, 6):
            step = f"action{index}"
            call = NodeCall(
                context=NodeContext(
                    workflow_id=info.workflow_id,
                    run_id=info.run_id,
                    step_id=step,
                    definition="five-actions",
                    incident_id=incident["incident_id"],
                ),
                inputs={"message": f"{step} for {incident['title']}", "previous": previous},
            )
            outputs[step] = await workflow.execute_activity(
                "debug.echo",
                call,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(
                    maximum_attempts=3,
                    initial_interval=timedelta(milliseconds=200),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=1),
                ),
                summary=step,
                result_type=dict,
            )
            previous = outputs[step]["message"]
        return outputs
