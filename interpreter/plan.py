"""The compiled plan: frozen, JSON-serialisable, and the only interpreter type Temporal sees."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    model_validator,
)
from pydantic_core import core_schema

from interpreter.schema import DEFAULT_MAX_RUNS_PER_HOUR


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPlan(_Frozen):
    """A resolved retry policy (node defaults overridden by the step's ``retry``)."""

    maximum_attempts: int
    initial_interval: float
    backoff_coefficient: float
    maximum_interval: float | None = None
    non_retryable_error_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Location:
    """Where something stands in a definition file (1-based line and column).

    Written to JSON as ``"file:line:col"``, the form plans pinned in running workflows
    already hold, so plans compiled before and after this type read the same way.
    """

    file: str
    line: int
    col: int

    @classmethod
    def parse(cls, text: str) -> Location:
        """Reads ``file:line:col`` (the file name may hold colons).

        Raises:
            ValueError: when ``text`` does not end in two numbers after colons.
        """
        parts = text.rsplit(":", 2)
        if len(parts) != 3:
            raise ValueError(f"a location is 'file:line:col', got {text!r}")
        return cls(parts[0], int(parts[1]), int(parts[2]))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, columns: int) -> Location:
        """The location ``columns`` characters further along the same line."""
        return Location(self.file, self.line, self.col + columns)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # A Location passes as it is (checked in pydantic-core); only text is parsed.
        from_text = core_schema.no_info_after_validator_function(
            cls.parse, core_schema.str_schema()
        )
        return core_schema.json_or_python_schema(
            json_schema=from_text,
            python_schema=core_schema.union_schema(
                [core_schema.is_instance_schema(cls), from_text]
            ),
            serialization=core_schema.to_string_ser_schema(when_used="always"),
        )


class ExpressionPlan(_Frozen):
    """An expression's source text and where it stands in the definition file."""

    source: str
    location: Location


class CasePlan(_Frozen):
    """One case of a ``cases`` condition."""

    value: Any
    steps: tuple[str, ...]


class ReferencePlan(_Frozen):
    """An input naming an earlier step, replaced at run time by one of that step's outputs.

    ``input`` holds the step id; the run drops it and sets ``into`` (unless the step
    set it itself) to that step's ``output``, a string. When that step has no such
    output the run notes "step '<id>': '<that step>' <unresolved>" in the step's ``warnings``
    (and its log) and goes on without.
    """

    input: str
    output: str
    into: str
    unresolved: str


LEGACY_THREAD_OF = ReferencePlan(
    input="threadOf",
    output="ts",
    into="threadTs",
    unresolved="posted nothing to thread under; posting to the channel",
)
"""What plans compiled before ``references`` existed meant by ``threadOf`` on slack.post.

The workflow resolved it for every plan then; a plan pinned by such a run still does.
"""


class FieldWrite(_Frozen):
    """A tracked incident value a write sets, so that its change is known as the write's echo.

    ``input`` is the input that sets it (None: every call does, and the value is claimed
    only when the output has it as text); ``output`` the output key holding the value set.
    """

    tracked: str
    output: str
    input: str | None = None


class IncidentWrite(_Frozen):
    """What a node writes to the incident its ``target`` input names: catalogue data.

    A run reports each such write to the incident's workflow, which then takes the write's
    echoes for rensei's own: ``entry_output`` is the output key of the timeline item it
    added; ``fields`` the tracked values it set; ``updates`` whether the service records an
    incident update for it: always, never, or when any of these inputs is given.
    """

    target: str
    entry_output: str | None = None
    fields: tuple[FieldWrite, ...] = ()
    updates: bool | tuple[str, ...] = True


LEGACY_INCIDENT_WRITES: dict[str, IncidentWrite] = {
    "incident_io.timeline.add_event": IncidentWrite(
        target="incidentId", entry_output="id", updates=False
    ),
    "incident_io.incident.update": IncidentWrite(
        target="incidentId",
        fields=(
            FieldWrite(tracked="severity", output="severity", input="severity"),
            FieldWrite(tracked="status", output="status", input="status"),
            FieldWrite(tracked="name", output="title", input="name"),
            FieldWrite(tracked="summary", output="summary", input="summary"),
        ),
        updates=("severity", "status"),
    ),
    "incident_io.incident.acknowledge": IncidentWrite(
        target="incidentId", fields=(FieldWrite(tracked="status", output="incidentStatus"),)
    ),
    "incident_io.incident.resolve": IncidentWrite(
        target="incidentId", fields=(FieldWrite(tracked="status", output="incidentStatus"),)
    ),
}
"""What plans compiled before ``incident_write`` existed meant by ``writes_incident: true``.

The workflow knew these writes by node name then; a plan pinned by such a run still means
them. This is a frozen record of those plans, not the catalogue: new plans carry their
node's ``IncidentWrite`` as the catalogue says it now.
"""

StepKind = Literal["action", "condition", "cases"]

_LEGACY_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "node_kind": ("activity",),
    "inputs": ({},),
    "locations": ({},),
    "condition": (None,),
    "branches": ({},),
    "cases": ((), []),
    "default": (None,),
    "timeout": (30.0,),
    "retry": (None,),
    "continue_on_error": (False,),
    "task_queue": (None,),
    "writes_incident": (False,),
}
"""The fields every step had before steps were split by kind, with their default values."""

_FOREIGN: dict[type, frozenset[str]] = {}
"""Per step class, the fields of ``_LEGACY_DEFAULTS`` it does not have."""


def site_key(pointer: str, offset: int) -> str:
    """The key of ``ActionStep.locations`` for the expression at ``offset`` of ``pointer``."""
    return f"{pointer}@{offset}"


class _Step(_Frozen):
    id: str
    type: str
    location: Location

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy_defaults(cls, data: Any) -> Any:
        """Accepts the single step shape of older plans: other kinds' fields at their defaults.

        A field of another kind holding anything but its default is left in, so
        ``extra="forbid"`` refuses it rather than silently dropping what it meant.
        """
        if not isinstance(data, dict):
            return data
        foreign = _FOREIGN.get(cls)
        if foreign is None:
            foreign = _FOREIGN[cls] = frozenset(_LEGACY_DEFAULTS) - set(cls.model_fields)
        if foreign.isdisjoint(data):
            return data
        return {
            key: value
            for key, value in data.items()
            if key not in foreign or not any(value == default for default in _LEGACY_DEFAULTS[key])
        }


class ActionStep(_Step):
    """A node call, with everything resolved that the workflow needs to run it.

    ``inputs`` is the raw input tree: strings that hold ``{{ }}`` are rendered at run
    time; ``locations`` maps ``site_key(pointer, offset)`` of every expression in it to
    its location, for error messages.
    """

    kind: Literal["action"] = "action"
    node_kind: str = "activity"
    inputs: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    branches: dict[str, tuple[str, ...]] = {}
    timeout: float = 30.0
    retry: RetryPlan | None = None
    continue_on_error: bool = False
    task_queue: str | None = None
    # What the step writes to an incident (its node's catalogue entry says); left out of the
    # JSON when None, so plans that write no incident stay readable by older workers.
    incident_write: IncidentWrite | None = Field(default=None, exclude_if=lambda w: w is None)
    # Left out of the JSON when empty, so plans that name no step stay readable by older workers.
    references: tuple[ReferencePlan, ...] = Field(default=(), exclude_if=lambda refs: not refs)
    # Called as a local activity (the catalogue marks the node short and idempotent); left
    # out of the JSON when false, like ``references``.
    local: bool = Field(default=False, exclude_if=lambda local: not local)

    @model_validator(mode="before")
    @classmethod
    def _legacy_thread_of(cls, data: Any) -> Any:
        """A slack.post step of a plan older than ``references`` resolves ``threadOf`` as before."""
        if (
            isinstance(data, dict)
            and "references" not in data
            and data.get("type") == "slack.post"
            and LEGACY_THREAD_OF.input in (data.get("inputs") or {})
        ):
            return {**data, "references": (LEGACY_THREAD_OF,)}
        return data

    @model_validator(mode="before")
    @classmethod
    def _legacy_writes_incident(cls, data: Any) -> Any:
        """A step of a plan older than ``incident_write`` says only whether it writes."""
        if not isinstance(data, dict) or not isinstance(data.get("writes_incident"), bool):
            return data  # anything but a flag is left for ``extra="forbid"`` to refuse
        writes = data["writes_incident"]
        data = {k: v for k, v in data.items() if k != "writes_incident"}
        if writes and "incident_write" not in data:
            data["incident_write"] = LEGACY_INCIDENT_WRITES.get(
                data.get("type", ""), IncidentWrite(target="incidentId")
            )
        return data

    def resolve_references(
        self, inputs: dict[str, Any], outputs: Mapping[str, Any], steps: Collection[str]
    ) -> tuple[dict[str, Any], list[str]]:
        """Replaces every input naming an earlier step with that step's output.

        Args:
            inputs: the rendered inputs of this step.
            outputs: the output of every step that has run, by step id.
            steps: every step id of the plan; a value that is none of them is left as
                it is (for example a Slack ts given to ``threadOf``).

        Returns:
            The inputs to call the node with, and a warning per named step that had no
            such output.
        """
        warnings: list[str] = []
        for reference in self.references:
            target = inputs.get(reference.input)
            if not isinstance(target, str) or target not in steps:
                continue
            parent = outputs.get(target)
            inputs = {k: v for k, v in inputs.items() if k != reference.input}
            if isinstance(parent, dict) and isinstance(parent.get(reference.output), str):
                inputs.setdefault(reference.into, parent[reference.output])
            else:
                warnings.append(f"step '{self.id}': '{target}' {reference.unresolved}")
        return inputs, warnings

    def branch_lists(self) -> list[tuple[str, ...]]:
        """Every list of steps this step may branch into."""
        return list(self.branches.values())

    def location_of(self, pointer: str, offset: int) -> Location:
        """Where character ``offset`` of the input template at ``pointer`` stands.

        Falls back to the step's own location when no expression of that template
        starts at or before ``offset``.
        """
        best: tuple[int, Location] | None = None
        for key, location in self.locations.items():
            at, text = key.rsplit("@", 1)
            start = int(text)
            if at == pointer and start <= offset and (best is None or start > best[0]):
                best = (start, location)
        if best is None:
            return self.location
        return best[1].shifted(offset - best[0])


class ConditionStep(_Step):
    """A ``condition`` step: ``onTrue`` / ``onFalse`` on a boolean expression."""

    kind: Literal["condition"] = "condition"
    type: Literal["condition"] = "condition"
    condition: ExpressionPlan
    branches: dict[str, tuple[str, ...]] = {}

    def branch_lists(self) -> list[tuple[str, ...]]:
        """Every list of steps this step may branch into."""
        return list(self.branches.values())


class CasesStep(_Step):
    """A ``condition`` step with ``cases``: the first case equal to the value, else ``default``."""

    kind: Literal["cases"] = "cases"
    type: Literal["condition"] = "condition"
    condition: ExpressionPlan
    cases: tuple[CasePlan, ...] = ()
    default: tuple[str, ...] | None = None

    def branch_lists(self) -> list[tuple[str, ...]]:
        """Every list of steps this step may branch into."""
        lists = [case.steps for case in self.cases]
        return [*lists, self.default] if self.default is not None else lists


StepPlan = Annotated[ActionStep | ConditionStep | CasesStep, Field(discriminator="kind")]
"""One step of a plan, told apart by ``kind``."""


class AgentPlan(_Frozen):
    """The agent card the workflow acts for (``$workflow.agent``)."""

    name: str
    description: str | None = None


class Plan(_Frozen):
    """A compiled definition. Pinned in the workflow input, so edits never alter a run."""

    name: str
    description: str | None = None
    enabled: bool = True
    version: int = 0
    digest: str
    source_file: str
    agent: AgentPlan | None = None
    trigger_type: str
    filter: ExpressionPlan | None = None
    include_own_changes: bool = False
    max_runs_per_hour: int = DEFAULT_MAX_RUNS_PER_HOUR
    root: tuple[str, ...]
    steps: dict[str, StepPlan]

    def ordered_steps(self) -> list[StepPlan]:
        """Every step in document order."""
        return list(self.steps.values())


class NodeContext(_Frozen):
    """Who is calling a node: enough for idempotency keys and credential look-ups.

    Never holds a secret: activities look credentials up by ``workspace``.
    """

    workspace: str = "default"
    workflow_id: str
    run_id: str
    step_id: str
    definition: str
    incident_id: str | None = None

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and worker restarts: one key per run and step."""
        return f"{self.workflow_id}/{self.step_id}"


class NodeCall(_Frozen):
    """The single argument of every node activity: rendered inputs plus context."""

    context: NodeContext
    inputs: dict[str, Any]
