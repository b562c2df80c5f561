"""Lowers a validated definition to a Plan: defaults, timeouts, retry policies, locations."""

from __future__ import annotations

import hashlib
from pathlib import Path as FsPath
from typing import Any

from interpreter import expressions as ex
from interpreter import limits
from interpreter.errors import DefinitionError, Diagnostic, Position
from interpreter.inputs import pointer_of, strings
from interpreter.loader import LoadedDocument, Path, load_yaml
from interpreter.nodes import Catalogue, NodeSpec
from interpreter.plan import (
    ActionStep,
    AgentPlan,
    CasePlan,
    CasesStep,
    ConditionStep,
    ExpressionPlan,
    Location,
    Plan,
    RetryPlan,
    StepPlan,
    site_key,
)
from interpreter.schema import StepModel
from interpreter.validator import Checked, validate


def check_text(text: str, *, file: str, catalogue: Catalogue) -> list[Diagnostic]:
    """Returns every error of a definition's text (empty when it is valid)."""
    return [d for d in diagnose_text(text, file=file, catalogue=catalogue) if d.severity == "error"]


def diagnose_text(text: str, *, file: str, catalogue: Catalogue) -> list[Diagnostic]:
    """Returns every error and warning of a definition's text, in file order."""
    doc, diagnostics = _load(text, file=file)
    if diagnostics:
        return diagnostics
    _, problems = validate(doc, catalogue)
    return problems


def compile_text(text: str, *, file: str, catalogue: Catalogue, version: int = 0) -> Plan:
    """Compiles a definition's text into a Plan.

    Args:
        text: the YAML source.
        file: the name used in diagnostics and error locations.
        catalogue: the node and trigger types available.
        version: the stored version of this definition (0 for a file on disk).

    Raises:
        DefinitionError: listing every problem of the file.
    """
    doc, diagnostics = _load(text, file=file)
    if diagnostics:
        raise DefinitionError(diagnostics)
    checked, problems = validate(doc, catalogue)
    if checked is None:
        raise DefinitionError([d for d in problems if d.severity == "error"])
    return _lower(checked, catalogue, version=version)


def _load(text: str, *, file: str) -> tuple[LoadedDocument, list[Diagnostic]]:
    """Loads the YAML and refuses more steps than the limit before validating any."""
    doc, diagnostics = load_yaml(text, file=file)
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    if not diagnostics and isinstance(steps, list) and len(steps) > limits.MAX_STEPS:
        message = f"the definition has {len(steps)} steps; the limit is {limits.MAX_STEPS}"
        hint = "split it into several definitions"
        diagnostics.append(Diagnostic(file, doc.position(("steps",), key=True), message, hint))
    return doc, diagnostics


def compile_file(path: str | FsPath, *, catalogue: Catalogue, version: int = 0) -> Plan:
    """Reads and compiles one definition file (see ``compile_text``)."""
    file = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            [Diagnostic(file, Position(1, 1), f"cannot read the file: {exc}")]
        ) from None
    return compile_text(text, file=file, catalogue=catalogue, version=version)


def _lower(checked: Checked, catalogue: Catalogue, *, version: int) -> Plan:
    doc = checked.doc
    definition = checked.definition
    name = definition.name or FsPath(doc.file).stem
    trigger_filter = None
    if definition.trigger.filter is not None:
        trigger_filter = _expression(doc, ("trigger", "filter"), definition.trigger.filter)
    steps = {
        sid: _lower_step(
            doc, ("steps", checked.step_index[sid]), step, catalogue.nodes.get(step.type), checked
        )
        for sid, step in checked.steps.items()
    }
    agent = checked.agent
    return Plan(
        name=name,
        description=definition.description,
        enabled=definition.enabled,
        version=version,
        digest=hashlib.sha256(doc.text.encode()).hexdigest()[:16],
        source_file=doc.file,
        agent=AgentPlan(name=agent.name, description=agent.description) if agent else None,
        trigger_type=definition.trigger.type,
        filter=trigger_filter,
        include_own_changes=definition.trigger.includeOwnChanges,
        max_runs_per_hour=definition.trigger.maxRunsPerHour,
        root=tuple(checked.root),
        steps=steps,
    )


def _lower_step(
    doc: LoadedDocument, base: Path, step: StepModel, spec: NodeSpec | None, checked: Checked
) -> StepPlan:
    location = _location(doc, base)
    branches = {key: tuple(ids) for key, ids in checked.branches[step.id].items()}
    if step.type == "condition":
        assert isinstance(step.condition, str)
        condition = _expression(doc, (*base, "condition"), step.condition)
        if step.cases is not None:
            cases = tuple(
                CasePlan(value=case.value, steps=tuple(case.steps or ()))
                for case in step.cases
                if case.default is None
            )
            default = branches.get("default")
            return CasesStep(
                id=step.id,
                location=location,
                condition=condition,
                cases=cases,
                default=default,
            )
        return ConditionStep(
            id=step.id,
            location=location,
            condition=condition,
            branches=branches,
        )
    assert spec is not None
    inputs = step.inputs or {}
    return ActionStep(
        id=step.id,
        type=step.type,
        node_kind=spec.kind,
        location=location,
        inputs=inputs,
        locations=_input_locations(doc, (*base, "inputs"), inputs),
        branches=branches,
        timeout=step.timeout or spec.timeout.total_seconds(),
        retry=_retry(step, spec),
        continue_on_error=step.continueOnError,
        task_queue=spec.task_queue,
        incident_write=spec.incident_write,
        references=tuple(ref.plan() for ref in spec.references if ref.input in inputs),
        local=spec.local and spec.kind == "activity" and spec.task_queue is None,
    )


def _retry(step: StepModel, spec: NodeSpec) -> RetryPlan:
    defaults = spec.retry
    override = step.retry
    maximum_interval = defaults.maximum_interval.total_seconds()
    if override is not None and override.maximumInterval is not None:
        maximum_interval = override.maximumInterval
    return RetryPlan(
        maximum_attempts=(
            override.maximumAttempts
            if override and override.maximumAttempts
            else defaults.maximum_attempts
        ),
        initial_interval=(
            override.initialInterval
            if override and override.initialInterval
            else defaults.initial_interval.total_seconds()
        ),
        backoff_coefficient=(
            override.backoffCoefficient
            if override and override.backoffCoefficient
            else defaults.backoff_coefficient
        ),
        maximum_interval=maximum_interval,
        non_retryable_error_types=defaults.non_retryable_error_types,
    )


def _input_locations(
    doc: LoadedDocument, base: Path, inputs: dict[str, Any]
) -> dict[str, Location]:
    locations: dict[str, Location] = {}
    for path, text in strings(inputs, base):
        if not ex.has_expression(text):
            continue
        pointer = pointer_of(path[len(base) :])
        for segment in ex.parse_template(text).expressions:
            position = doc.value_position(path, text, segment.offset)
            locations[site_key(pointer, segment.offset)] = Location(
                file=doc.file, line=position.line, col=position.col
            )
    return locations


def _expression(doc: LoadedDocument, path: Path, text: str) -> ExpressionPlan:
    template = ex.parse_template(text)
    single = template.single
    assert single is not None
    return ExpressionPlan(source=single.text, location=_location(doc, path))


def _location(doc: LoadedDocument, path: Path) -> Location:
    position = doc.position(path)
    return Location(file=doc.file, line=position.line, col=position.col)
