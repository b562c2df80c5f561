"""The compiled plan: frozen, JSON-serialisable, and the only interpreter type Temporal sees."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

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


class ExpressionPlan(_Frozen):
    """An expression's source text and where it stands in the definition file."""

    source: str
    location: str


class CasePlan(_Frozen):
    """One case of a ``cases`` condition."""

    value: Any
    steps: tuple[str, ...]


StepKind = Literal["action", "condition", "cases"]


class StepPlan(_Frozen):
    """One step, with everything resolved that the workflow needs to run it.

    ``inputs`` is the raw input tree: strings that hold ``{{ }}`` are rendered at run
    time; ``locations`` maps ``<json pointer>@<offset>`` of every expression in it to
    its ``file:line:col`` for error messages.
    """

    id: str
    type: str
    kind: StepKind
    node_kind: str = "activity"
    location: str
    inputs: dict[str, Any] = {}
    locations: dict[str, str] = {}
    condition: ExpressionPlan | None = None
    branches: dict[str, tuple[str, ...]] = {}
    cases: tuple[CasePlan, ...] = ()
    default: tuple[str, ...] | None = None
    timeout: float = 30.0
    retry: RetryPlan | None = None
    continue_on_error: bool = False
    task_queue: str | None = None
    writes_incident: bool = False


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
