"""``debug.echo``: returns its inputs; stands in for any node while building a definition."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from interpreter.plan import NodeCall


class EchoInput(BaseModel):
    """Any inputs at all."""

    model_config = ConfigDict(extra="allow")


class EchoOutput(BaseModel):
    """The inputs, unchanged."""

    model_config = ConfigDict(extra="allow")


@activity.defn(name="debug.echo")
async def echo(call: NodeCall) -> dict[str, Any]:
    """Returns the rendered inputs of the step."""
    activity.logger.info("debug.echo step=%s", call.context.step_id)
    return dict(call.inputs)
