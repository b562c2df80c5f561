"""``approval``: post Approve / Reject buttons and wait for a decision (a Temporal Update)."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError

with __import__("temporalio").workflow.unsafe.imports_passed_through():
    from interpreter.plan import NodeCall, StepPlan


async def run(wf: Any, step: StepPlan, call: NodeCall) -> dict[str, Any]:
    """Runs the step inside the interpreter workflow ``wf`` and returns its output."""
    raise ApplicationError(
        f"'{step.type}' steps are not available in this build", non_retryable=True
    )
