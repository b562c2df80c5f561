"""One wording for inputs that do not read as their model, on both sides of the boundary."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from temporalio.exceptions import ApplicationError

from activities.errors import integration_errors
from contracts.errors import (
    INVALID_REQUEST,
    MAX_PROBLEMS,
    REQUEST_ERRORS,
    invalid_inputs,
    problems,
)
from contracts.steps import WaitForInput
from interpreter.plan import NodeCall, NodeContext
from workflows.calls import inputs_of

CONTEXT = NodeContext(workflow_id="wf", run_id="run", step_id="wait", definition="d")
BAD = {"event": "sk-live-0123456789", "timeout": "soon", "extra": 1}


def error_of(model: type[BaseModel], value: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(value)
    return caught.value


def test_every_problem_is_named_by_where_it_is() -> None:
    message = invalid_inputs(error_of(WaitForInput, BAD))
    assert message == (
        "invalid inputs: event: Input should be 'resolved', 'updated' or 'created'; "
        "timeout: 'soon' is not a duration (use 30s, 5m, 1h or 2d); "
        "extra: Extra inputs are not permitted"
    )


def test_the_offending_values_are_not_repeated() -> None:
    assert "sk-live" not in invalid_inputs(error_of(WaitForInput, BAD))


def test_a_problem_of_the_whole_value_is_named_by_the_root() -> None:
    assert problems(error_of(WaitForInput, ["not", "an", "object"]), root="incident") == (
        "incident: Input should be a valid dictionary or instance of WaitForInput"
    )


class Many(BaseModel):
    values: list[int]


def test_a_long_list_of_problems_is_cut_and_counted() -> None:
    message = problems(error_of(Many, {"values": ["x"] * 1000}))
    assert message.count("Input should be a valid integer") == MAX_PROBLEMS
    assert message.endswith(f"; and {1000 - MAX_PROBLEMS} more")


class Checked(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str

    @field_validator("channel")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.startswith("#"):
            raise ValueError("a channel name starts with '#'")
        return value


def test_a_validators_own_message_is_shown_without_pydantics_prefix() -> None:
    assert invalid_inputs(error_of(Checked, {"channel": "general"})) == (
        "invalid inputs: channel: a channel name starts with '#'"
    )


def test_a_workflow_run_step_and_an_activity_word_the_same_problem_the_same_way() -> None:
    with pytest.raises(ApplicationError) as in_workflow:
        inputs_of(WaitForInput, NodeCall(context=CONTEXT, inputs=BAD))
    with pytest.raises(ApplicationError) as in_activity, integration_errors():
        WaitForInput.model_validate(BAD)
    assert in_workflow.value.message == in_activity.value.message
    for failure in (in_workflow.value, in_activity.value):
        assert failure.type == INVALID_REQUEST
        assert failure.non_retryable
    assert INVALID_REQUEST in REQUEST_ERRORS
