"""The non-retryable names that retry policies use are the error tree's non-retryable classes."""

from __future__ import annotations

import pytest

from activities import errors
from contracts.errors import NON_RETRYABLE_ERRORS, REQUEST_ERRORS


@pytest.mark.parametrize("name", NON_RETRYABLE_ERRORS)
def test_each_non_retryable_name_is_a_non_retryable_integration_error(name: str) -> None:
    found = getattr(errors, name)
    assert issubclass(found, errors.IntegrationError)
    assert found.retryable is False
    application = errors.to_application_error(found("refused"))
    assert (application.type, application.non_retryable) == (name, True)


def test_request_errors_are_among_the_non_retryable() -> None:
    assert set(REQUEST_ERRORS) < set(NON_RETRYABLE_ERRORS)
    assert "RateLimitedError" not in NON_RETRYABLE_ERRORS
    assert errors.RateLimitedError.retryable is True
