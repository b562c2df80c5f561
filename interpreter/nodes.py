"""The node and trigger catalogue the compiler reads: plain data, no activity code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel

from interpreter.plan import IncidentWrite, ReferencePlan
from interpreter.shapes import ANY, ObjectShape, Shape, shape_of_model

NodeKind = Literal["activity", "approval", "wait", "agent"]


@dataclass(frozen=True)
class RetryDefaults:
    """A node's default retry policy; a step's ``retry`` overrides any field of it."""

    maximum_attempts: int = 5
    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta = timedelta(minutes=1)
    non_retryable_error_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepReference:
    """An input of a node that may name an earlier step of type ``node``.

    At run time the input is replaced by ``into`` = that step's ``output`` (see
    ``ReferencePlan``): slack.post's ``threadOf: <step id>`` becomes ``threadTs``, the
    ``ts`` of that earlier post. A value matching ``literal`` (a regular expression) is
    not a step id and is left to the node. ``hint`` is shown when the named step cannot
    have run before; ``unresolved`` goes in the step's warnings when it ran without that output.
    """

    input: str
    node: str
    output: str
    into: str
    literal: str | None = None
    hint: str | None = None
    unresolved: str = "has no such output; leaving the input unset"

    def plan(self) -> ReferencePlan:
        """What the run needs of this reference."""
        return ReferencePlan(
            input=self.input, output=self.output, into=self.into, unresolved=self.unresolved
        )


@dataclass(frozen=True)
class NodeSpec:
    """What the compiler knows of a node type.

    ``kind`` says how the interpreter runs it: ``activity`` nodes are one activity each;
    ``approval``, ``wait`` and ``agent`` nodes are run by the workflow itself (timers,
    signals and updates around activities). ``branches`` names the extra branch keys
    the step accepts (for example ``onTimeout``). ``incident_write`` describes nodes that
    change the incident an input names (its fields, updates or timeline item), the writes
    whose echoes must not start definitions again. ``references`` are the inputs that
    may name an earlier step (``StepReference``). ``local`` marks a short, idempotent
    ``activity`` node that keeps its guarantees when it runs as a local activity (on the
    worker of the workflow calling it, retried there, no task-queue rate limit); a node
    with a ``task_queue`` never runs locally.
    """

    name: str
    input_model: type[BaseModel]
    output_model: type[BaseModel] | None = None
    description: str = ""
    kind: NodeKind = "activity"
    timeout: timedelta = timedelta(seconds=30)
    retry: RetryDefaults = field(default_factory=RetryDefaults)
    task_queue: str | None = None
    branches: tuple[str, ...] = ()
    incident_write: IncidentWrite | None = None
    references: tuple[StepReference, ...] = ()
    local: bool = False

    @property
    def output_shape(self) -> Shape:
        if self.output_model is None:
            return ANY
        return shape_of_model(self.output_model)


@dataclass(frozen=True)
class TriggerSpec:
    """A trigger type and the shape of the payload it puts under ``$trigger``."""

    name: str
    payload_model: type[BaseModel]
    description: str = ""
    fires_on_changes: bool = False
    """It fires on every change of an incident, so also on the changes a run makes."""

    @property
    def shape(self) -> Shape:
        return ObjectShape({"incident_io": shape_of_model(self.payload_model)})


@dataclass(frozen=True)
class Catalogue:
    """Every node and trigger type a definition may use."""

    nodes: Mapping[str, NodeSpec]
    triggers: Mapping[str, TriggerSpec]

    def merged(self, *others: Catalogue) -> Catalogue:
        nodes = dict(self.nodes)
        triggers = dict(self.triggers)
        for other in others:
            nodes.update(other.nodes)
            triggers.update(other.triggers)
        return Catalogue(nodes, triggers)
