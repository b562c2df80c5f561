"""One error tree for every provider, translated once at the client boundary.

Clients raise these; activities turn them into Temporal ``ApplicationError`` with
``to_application_error`` so that retries follow the HTTP semantics: 4xx other than
408/429 never retry, 429 waits as long as the provider says, 5xx and timeouts retry.
"""

from __future__ import annotations

import email.utils
import time
from datetime import timedelta

from temporalio.exceptions import ApplicationError


class IntegrationError(Exception):
    """A provider call failed; ``str(error)`` is the message users see."""

    retryable = True

    def __init__(
        self, message: str, *, request_id: str | None = None, retry_after: float | None = None
    ) -> None:
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(message if request_id is None else f"{message} (request id {request_id})")


class AuthenticationError(IntegrationError):
    """The token was revoked, is wrong, or lacks a scope."""

    retryable = False


class NotFoundError(IntegrationError):
    """The resource does not exist, or belongs to another workspace."""

    retryable = False


class InvalidRequestError(IntegrationError):
    """The provider refused the request as invalid; retrying cannot help."""

    retryable = False


class RateLimitedError(IntegrationError):
    """Too many requests: retry after ``retry_after`` seconds."""


class ProviderUnavailableError(IntegrationError):
    """5xx, timeouts and connection failures: retry with backoff."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Reads ``Retry-After`` given in seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - (time.time() if now is None else now))


def to_application_error(error: IntegrationError) -> ApplicationError:
    """The Temporal failure for a provider error (non-retryable unless it may pass)."""
    delay = timedelta(seconds=error.retry_after) if error.retry_after is not None else None
    return ApplicationError(
        str(error),
        type=type(error).__name__,
        non_retryable=not error.retryable,
        next_retry_delay=delay,
    )
