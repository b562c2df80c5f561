"""Semantic checks of a definition: collects every problem, each with its file position."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from interpreter import expressions as ex
from interpreter.errors import Diagnostic, ExpressionError
from interpreter.inputs import strings
from interpreter.loader import LoadedDocument, Path
from interpreter.nodes import Catalogue, NodeSpec
from interpreter.schema import (
    ACTION_KEYS,
    BRANCH_KEYS,
    COMMON_KEYS,
    CONDITION_KEYS,
    STEP_ID,
    AgentModel,
    DefinitionModel,
    StepModel,
    TriggerModel,
)
from interpreter.shapes import ANY, NullShape, ObjectShape, ScalarShape, Shape

CONDITION_OUTPUT = ObjectShape({"value": ANY, "branch": ScalarShape("string")})
WORKFLOW_SHAPE = ObjectShape(
    {
        "name": ScalarShape("string"),
        "description": ScalarShape("string"),
        "version": ScalarShape("number"),
        "digest": ScalarShape("string"),
        "workflow_id": ScalarShape("string"),
        "run_id": ScalarShape("string"),
        "workspace": ScalarShape("string"),
        "trigger_type": ScalarShape("string"),
        "started_at": ScalarShape("string"),
        "agent": ObjectShape({"name": ScalarShape("string"), "description": ScalarShape("string")}),
    }
)


def workflow_shape(definition: DefinitionModel, agent: AgentModel | None) -> ObjectShape:
    """``$workflow`` for this definition: the fields it leaves unset are known to be null."""
    fields: dict[str, Shape] = dict(WORKFLOW_SHAPE.fields)
    if definition.description is None:
        fields["description"] = NullShape(why="the definition has no 'description:'")
    if agent is None:
        fields["agent"] = NullShape(why="the definition has no 'agent:'")
    elif agent.description is None:
        agent_fields: dict[str, Shape] = {
            "name": ScalarShape("string"),
            "description": NullShape(why="its agent has no 'description:'"),
        }
        fields["agent"] = ObjectShape(agent_fields)
    return ObjectShape(fields)


@dataclass
class Checked:
    """A definition that passed validation, with its execution structure worked out."""

    doc: LoadedDocument
    definition: DefinitionModel
    agent: AgentModel | None
    steps: dict[str, StepModel]
    step_index: dict[str, int]
    root: list[str]
    branches: dict[str, dict[str, list[str]]]
    visible: dict[str, frozenset[str]] = field(default_factory=dict)


class _Collector:
    def __init__(self, doc: LoadedDocument) -> None:
        self.doc = doc
        self.items: list[Diagnostic] = []

    def add(self, path: Path, message: str, *, hint: str | None = None, key: bool = False) -> None:
        self.items.append(
            Diagnostic(self.doc.file, self.doc.position(path, key=key), message, hint)
        )

    def warn(self, path: Path, message: str, *, hint: str | None = None) -> None:
        self.items.append(
            Diagnostic(self.doc.file, self.doc.position(path), message, hint, "warning")
        )

    @property
    def errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def add_expression(self, path: Path, exc: ExpressionError, *, text: str) -> None:
        position = self.doc.value_position(path, text, exc.offset)
        self.items.append(Diagnostic(self.doc.file, position, exc.message, exc.hint))

    def pydantic(self, base: Path, error: ValidationError, model: type[BaseModel]) -> None:
        for item in error.errors():
            loc = tuple(
                x for x in item["loc"] if not isinstance(x, str) or not x.startswith("function")
            )
            path = (*base, *loc)
            kind = item["type"]
            if kind == "extra_forbidden":
                name = str(loc[-1])
                allowed = _allowed_keys(model, loc[:-1])
                self.add(path, f"unknown key '{name}'", hint=_did_you_mean(name, allowed), key=True)
            elif kind == "missing":
                where = _where(loc[:-1])
                self.add(path[:-1], f"missing required key '{loc[-1]}'{where}")
            else:
                message = item["msg"].removeprefix("Value error, ")
                self.add(path, f"{'.'.join(str(x) for x in loc)}: {message}")


def _where(loc: tuple[Any, ...]) -> str:
    return f" in {'.'.join(str(x) for x in loc)}" if loc else ""


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        annotation = info.annotation
        current = next(
            (
                a
                for a in getattr(annotation, "__args__", (annotation,))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            annotation,
        )
    return list(getattr(current, "model_fields", {}))


def _did_you_mean(word: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def validate(doc: LoadedDocument, catalogue: Catalogue) -> tuple[Checked | None, list[Diagnostic]]:
    """Checks a loaded definition against the catalogue.

    Args:
        doc: the loaded YAML document.
        catalogue: the node and trigger types available.

    Returns:
        The checked definition (None when any problem was found) and every diagnostic.
    """
    out = _Collector(doc)
    if not isinstance(doc.data, dict):
        out.add((), "a definition must be a mapping with 'trigger' and 'steps'")
        return None, out.items
    try:
        definition = DefinitionModel.model_validate(doc.data)
        trigger_ok = True
    except ValidationError as exc:
        out.pydantic((), exc, DefinitionModel)
        definition = _lenient(doc.data)
        trigger_ok = not any(e["loc"][:2] == ("trigger", "type") for e in exc.errors())
    steps = _step_models(doc, out, catalogue)
    agent = (
        AgentModel(name=definition.agent) if isinstance(definition.agent, str) else definition.agent
    )
    trigger_shape = _check_trigger(definition, catalogue, out) if trigger_ok else ANY
    checked = _structure(doc, definition, agent, steps, catalogue, out)
    if checked is not None:
        _check_expressions(checked, catalogue, trigger_shape, out)
        _check_references(checked, catalogue, out)
        _check_echo_loop(checked, catalogue, out)
    out.items.sort(key=lambda d: d.position)
    return (checked if not out.errors else None), out.items


def _lenient(data: dict[str, Any]) -> DefinitionModel:
    """A stand-in for a definition whose top level has problems, so steps still get checked."""
    trigger = data.get("trigger")
    kind = trigger.get("type") if isinstance(trigger, dict) else None
    steps = data.get("steps")
    agent = data.get("agent")
    return DefinitionModel.model_construct(
        name=data.get("name") if isinstance(data.get("name"), str) else None,
        description=None,
        enabled=True,
        agent=agent if isinstance(agent, str) else None,
        trigger=TriggerModel.model_construct(
            type=kind if isinstance(kind, str) else "", filter=None
        ),
        steps=steps if isinstance(steps, list) else [],
    )


def _step_models(
    doc: LoadedDocument, out: _Collector, catalogue: Catalogue
) -> list[tuple[int, StepModel]]:
    raw_steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    models: list[tuple[int, StepModel]] = []
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(raw_steps if isinstance(raw_steps, list) else []):
        if not isinstance(raw, dict):
            out.add(("steps", index), "a step must be a mapping with 'id' and 'type'")
            continue
        sid = raw.get("id")
        if isinstance(sid, str) and first_seen.setdefault(sid, index) != index:
            line = doc.position(("steps", first_seen[sid], "id")).line
            out.add(
                ("steps", index, "id"),
                f"duplicate step id '{sid}'",
                hint=f"first used at line {line}",
            )
            continue
        try:
            models.append((index, StepModel.model_validate(raw)))
        except ValidationError as exc:
            out.pydantic(("steps", index), exc, StepModel)
            kind = raw.get("type")
            if isinstance(kind, str) and kind != "condition" and kind not in catalogue.nodes:
                _unknown_type(kind, ("steps", index, "type"), catalogue, out)
    return models


def _unknown_type(kind: str, path: Path, catalogue: Catalogue, out: _Collector) -> None:
    options = sorted([*catalogue.nodes, "condition"])
    out.add(
        path,
        f"unknown node type '{kind}'",
        hint=_did_you_mean(kind, options) or f"known: {', '.join(options)}",
    )


def _check_trigger(definition: DefinitionModel, catalogue: Catalogue, out: _Collector) -> Shape:
    spec = catalogue.triggers.get(definition.trigger.type)
    if spec is None:
        out.add(
            ("trigger", "type"),
            f"unknown trigger type '{definition.trigger.type}'",
            hint=_did_you_mean(definition.trigger.type, sorted(catalogue.triggers))
            or f"known: {', '.join(sorted(catalogue.triggers))}",
        )
        return ANY
    return spec.shape


def _structure(
    doc: LoadedDocument,
    definition: DefinitionModel,
    agent: AgentModel | None,
    models: list[tuple[int, StepModel]],
    catalogue: Catalogue,
    out: _Collector,
) -> Checked | None:
    steps: dict[str, StepModel] = {}
    index_of: dict[str, int] = {}
    for index, step in models:
        base = ("steps", index)
        if not STEP_ID.match(step.id):
            out.add(
                (*base, "id"),
                f"step id '{step.id}' must be letters, digits and '_' (not starting with a digit)",
            )
        steps[step.id] = step
        index_of[step.id] = index
        _check_keys(step, base, doc, catalogue, out)
    raw_ids = {s.get("id") for s in definition.steps if isinstance(s, dict)}
    branches = {sid: _branches_of(step) for sid, step in steps.items()}
    parents = _check_targets(steps, index_of, branches, out, broken=raw_ids - set(steps))
    branches = {
        sid: {
            key: [t for t in targets if t in steps and t != sid] for key, targets in keyed.items()
        }
        for sid, keyed in branches.items()
    }
    if _check_cycles(branches, index_of, out):
        return None
    root = [sid for sid in steps if sid not in parents]
    checked = Checked(doc, definition, agent, steps, index_of, root, branches)
    checked.visible = _visibility(root, branches)
    return checked


def _check_keys(
    step: StepModel, base: Path, doc: LoadedDocument, catalogue: Catalogue, out: _Collector
) -> None:
    given = set(step.model_fields_set) - COMMON_KEYS
    if step.type == "condition":
        for key in sorted(given - CONDITION_KEYS):
            out.add((*base, key), f"'{key}' does not apply to a condition step", key=True)
        if step.condition is None:
            out.add(base, f"condition step '{step.id}' needs a 'condition'")
        has_bool = step.onTrue is not None or step.onFalse is not None
        if step.cases is not None and has_bool:
            out.add(
                (*base, "cases"), "use either 'cases' or 'onTrue'/'onFalse', not both", key=True
            )
        elif step.cases is None and not has_bool:
            out.add(base, f"condition step '{step.id}' needs 'onTrue'/'onFalse' or 'cases'")
        _check_cases(step, base, out)
        return
    spec = catalogue.nodes.get(step.type)
    if spec is None:
        _unknown_type(step.type, (*base, "type"), catalogue, out)
        return
    allowed = ACTION_KEYS | set(spec.branches)
    for key in sorted(given - allowed):
        hint = (
            f"'{step.type}' accepts {', '.join(sorted(spec.branches))}"
            if key in BRANCH_KEYS and spec.branches
            else None
        )
        out.add(
            (*base, key), f"'{key}' does not apply to a '{step.type}' step", hint=hint, key=True
        )
    _check_inputs(step, spec, base, out)


def _check_cases(step: StepModel, base: Path, out: _Collector) -> None:
    defaults = 0
    for i, case in enumerate(step.cases or []):
        path = (*base, "cases", i)
        fields = case.model_fields_set
        if "default" in fields:
            defaults += 1
            if fields - {"default"}:
                out.add(path, "a default case holds only 'default: [steps]'")
            if i != len(step.cases or []) - 1:
                out.add(path, "the default case must come last")
        elif "value" not in fields or "steps" not in fields:
            out.add(path, "a case needs 'value' and 'steps' (or is 'default: [steps]')")
        elif isinstance(case.value, str) and ex.has_expression(case.value):
            out.add((*path, "value"), "a case value is a literal, not an expression")
    if defaults > 1:
        out.add((*base, "cases"), "only one default case is allowed", key=True)


def _check_inputs(step: StepModel, spec: NodeSpec, base: Path, out: _Collector) -> None:
    inputs = step.inputs or {}
    model = spec.input_model
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    attrs = {(info.alias or name): name for name, info in model.model_fields.items()}
    open_model = model.model_config.get("extra") == "allow"
    for key, value in inputs.items():
        info = fields.get(key)
        if info is None:
            if not open_model:
                out.add(
                    (*base, "inputs", key),
                    f"unknown input '{key}' for '{spec.name}'",
                    hint=_did_you_mean(key, list(fields))
                    or f"inputs: {', '.join(fields) or 'none'}",
                    key=True,
                )
            continue
        _check_input_type(key, value, attrs[key], (*base, "inputs", key), spec, out)
    for key, info in fields.items():
        if info.is_required() and key not in inputs:
            if step.inputs is not None:
                out.add(
                    (*base, "inputs"), f"missing required input '{key}' for '{spec.name}'", key=True
                )
            else:
                out.add(base, f"missing required input '{key}' for '{spec.name}'")


def _check_input_type(
    key: str, value: Any, attribute: str, path: Path, spec: NodeSpec, out: _Collector
) -> None:
    """Validates one literal input with the model's own field rules (validators included)."""
    rendered = False
    if _holds_expression(value):
        if not isinstance(value, str) or _single(value):
            return  # the type is only known at run time
        rendered = True
    try:
        model = spec.input_model
        model.__pydantic_validator__.validate_assignment(
            model.model_construct(), attribute, "text" if rendered else value
        )
    except ValidationError as exc:
        own = [e for e in exc.errors() if e["loc"][:1] == (attribute,)]
        if not own:
            return  # a rule across several inputs: the node checks it when it runs
        detail = own[0]["msg"].removeprefix("Value error, ")
        if rendered:
            out.add(
                path,
                f"input '{key}' of '{spec.name}' renders to text, "
                f"but {detail[0].lower()}{detail[1:]}",
            )
        else:
            out.add(path, f"input '{key}' of '{spec.name}' is invalid: {detail}")


def _holds_expression(value: Any) -> bool:
    return any(ex.has_expression(text) for _, text in strings(value))


def _single(text: str) -> bool:
    try:
        return ex.parse_template(text).single is not None
    except ExpressionError:
        return True


def _branches_of(step: StepModel) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key in BRANCH_KEYS:
        targets = getattr(step, key)
        if targets is not None:
            result[key] = targets
    for i, case in enumerate(step.cases or []):
        if case.default is not None:
            result["default"] = case.default
        elif case.steps is not None:
            result[f"cases.{i}"] = case.steps
    return result


def _branch_path(step_index: int, key: str, item: int) -> Path:
    if key.startswith("cases."):
        return ("steps", step_index, "cases", int(key.split(".")[1]), "steps", item)
    if key == "default":
        return ("steps", step_index, "cases")
    return ("steps", step_index, key, item)


def _check_targets(
    steps: dict[str, StepModel],
    index_of: dict[str, int],
    branches: dict[str, dict[str, list[str]]],
    out: _Collector,
    *,
    broken: set[Any],
) -> dict[str, str]:
    parents: dict[str, str] = {}
    for sid, keyed in branches.items():
        for key, targets in keyed.items():
            for item, target in enumerate(targets):
                path = _branch_path(index_of[sid], key, item)
                if target in broken:
                    continue  # that step has its own diagnostics
                if target not in steps:
                    out.add(
                        path,
                        f"branch target '{target}' is not a step",
                        hint=_did_you_mean(target, list(steps)),
                    )
                elif target == sid:
                    out.add(path, f"step '{sid}' cannot branch to itself")
                elif parents.setdefault(target, sid) != sid:
                    out.add(
                        path,
                        f"step '{target}' is already a branch target of '{parents[target]}'",
                        hint="a step belongs to the branches of one step only",
                    )
    return parents


def _check_cycles(
    branches: dict[str, dict[str, list[str]]], index_of: dict[str, int], out: _Collector
) -> bool:
    state: dict[str, int] = {}
    found = False

    def visit(sid: str, trail: list[str]) -> None:
        nonlocal found
        state[sid] = 1
        for targets in branches.get(sid, {}).values():
            for target in targets:  # sanitized: every target is another, existing step
                if state.get(target) == 1:
                    cycle = " -> ".join([*trail[trail.index(target) :], target])
                    out.add(("steps", index_of[sid], "id"), f"branches form a cycle: {cycle}")
                    found = True
                elif target not in state:
                    visit(target, [*trail, target])
        state[sid] = 2

    for sid in branches:
        if sid not in state:
            visit(sid, [sid])
    return found


def _visibility(
    root: list[str], branches: dict[str, dict[str, list[str]]]
) -> dict[str, frozenset[str]]:
    """For every step, the steps that may have run before it (the union over all paths).

    Only called once ``_check_cycles`` found none, so the walk terminates.
    """
    visible: dict[str, frozenset[str]] = {}

    def walk(sequence: list[str], before: frozenset[str]) -> frozenset[str]:
        current = before
        for sid in sequence:
            visible[sid] = visible.get(sid, frozenset()) | current
            after = current | {sid}
            outcomes = [walk(targets, after) for targets in branches.get(sid, {}).values()]
            current = after.union(*outcomes)
        return current

    walk(root, frozenset())
    return visible


def _check_expressions(
    checked: Checked, catalogue: Catalogue, trigger: Shape, out: _Collector
) -> None:
    shapes: dict[str, Shape] = {}
    for sid, step in checked.steps.items():
        spec = catalogue.nodes.get(step.type)
        shape = (
            CONDITION_OUTPUT if step.type == "condition" else (spec.output_shape if spec else ANY)
        )
        if step.continueOnError and isinstance(shape, ObjectShape):
            # a failed step that may continue outputs {"error": ...} instead
            shape = ObjectShape({**shape.fields, "error": ScalarShape("string")}, open=shape.open)
        shapes[sid] = shape
    all_steps = frozenset(checked.steps)
    workflow = workflow_shape(checked.definition, checked.agent)
    filter_text = checked.definition.trigger.filter
    if filter_text is not None:
        scope = ex.Scope(trigger=trigger, workflow=workflow, all_steps=all_steps)
        _check_text(filter_text, ("trigger", "filter"), scope, out, single=True)
    for sid, step in checked.steps.items():
        base = ("steps", checked.step_index[sid])
        scope = ex.Scope(
            trigger, workflow, shapes, checked.visible.get(sid, frozenset()), all_steps
        )
        if step.type == "condition" and step.condition is not None:
            _check_condition(step, base, scope, out)
        for path, text in strings(step.inputs or {}, (*base, "inputs")):
            _check_text(text, path, scope, out)


def _check_references(checked: Checked, catalogue: Catalogue, out: _Collector) -> None:
    """An input naming a step (``threadOf``) names one of its node type that can have run before."""
    for sid, step in checked.steps.items():
        spec = catalogue.nodes.get(step.type)
        for reference in spec.references if spec else ():
            target = (step.inputs or {}).get(reference.input)
            if not isinstance(target, str) or ex.has_expression(target):
                continue
            if reference.literal is not None and re.match(reference.literal, target):
                continue
            path = ("steps", checked.step_index[sid], "inputs", reference.input)
            parent = checked.steps.get(target)
            if parent is None:
                hint = _did_you_mean(target, [s for s in checked.steps if s != sid])
                out.add(path, f"{reference.input} '{target}' is not a step", hint=hint)
            elif parent.type != reference.node:
                out.add(
                    path,
                    f"{reference.input} must name a {reference.node} step "
                    f"('{target}' is {parent.type})",
                )
            elif target not in checked.visible.get(sid, frozenset()):
                out.add(
                    path,
                    f"{reference.input} '{target}' names a step that cannot have run "
                    f"before '{sid}'",
                    hint=reference.hint,
                )


def _check_echo_loop(checked: Checked, catalogue: Catalogue, out: _Collector) -> None:
    """Warns on a definition that runs on every change and changes the same incident."""
    trigger = checked.definition.trigger
    spec = catalogue.triggers.get(trigger.type)
    if spec is None or not spec.fires_on_changes or trigger.filter is not None:
        return
    for sid, step in checked.steps.items():
        node = catalogue.nodes.get(step.type)
        if node is None or node.incident_write is None:
            continue
        target = (step.inputs or {}).get(node.incident_write.target)
        if not isinstance(target, str):
            continue
        if "$trigger" not in target:
            continue
        echo = (
            "with trigger.includeOwnChanges each of its changes starts it again, until the "
            "loop breaker (trigger.maxRunsPerHour) stops it"
            if trigger.includeOwnChanges
            else "rensei does not start it on its own changes, but it reacts to every other one"
        )
        out.warn(
            ("trigger", "type"),
            f"this definition runs on every change of an incident, and step '{sid}' "
            f"({step.type}) changes the same incident: {echo}",
            hint="add a trigger.filter, for example "
            "\"{{ $trigger.incident_io.field == 'severity' }}\"",
        )
        return


def _check_condition(step: StepModel, base: Path, scope: ex.Scope, out: _Collector) -> None:
    if not isinstance(step.condition, str):
        out.add((*base, "condition"), "a condition is an expression in '{{ }}'")
        return
    _check_text(step.condition, (*base, "condition"), scope, out, single=True)


def _check_text(
    text: str, path: Path, scope: ex.Scope, out: _Collector, *, single: bool = False
) -> None:
    try:
        template = ex.parse_template(text)
    except ExpressionError as exc:
        out.add_expression(path, exc, text=text)
        return
    if single and template.single is None:
        out.add(
            path,
            "expected exactly one expression in '{{ }}'",
            hint="for example \"{{ $trigger.incident_io.severity == 'SEV-1' }}\"",
        )
        return
    for segment in template.expressions:
        try:
            ex.check(ex.parse_expression(segment.text), scope, segment.text)
        except ExpressionError as exc:
            shifted = ExpressionError(
                exc.message, offset=segment.offset + exc.offset, hint=exc.hint
            )
            out.add_expression(path, shifted, text=text)
