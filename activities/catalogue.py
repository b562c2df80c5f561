"""The node catalogue: every node type's models, defaults and kind, as data the compiler reads."""

from __future__ import annotations

from datetime import timedelta

from activities.debug import EchoInput, EchoOutput
from activities.incident_io.specs import INCIDENT_IO_NODES
from activities.triggers import TRIGGER_MODELS
from interpreter.nodes import Catalogue, NodeSpec, RetryDefaults, TriggerSpec

TRIGGERS = {
    name: TriggerSpec(name=name, payload_model=model, description=(model.__doc__ or "").strip())
    for name, model in TRIGGER_MODELS.items()
}

NODES: dict[str, NodeSpec] = {
    "debug.echo": NodeSpec(
        name="debug.echo",
        input_model=EchoInput,
        output_model=EchoOutput,
        description="Returns its inputs.",
        timeout=timedelta(seconds=10),
        retry=RetryDefaults(maximum_attempts=3, initial_interval=timedelta(milliseconds=200)),
    ),
    **INCIDENT_IO_NODES,
}


def default_catalogue() -> Catalogue:
    """Every node and trigger type rensei ships."""
    return Catalogue(nodes=dict(NODES), triggers=dict(TRIGGERS))
