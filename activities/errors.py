"""One error tree for every provider, and its translation into Temporal failures.

Clients raise these at their boundary (HTTP status, Slack ``ok:false``, GraphQL
``errors[]``, JSON-RPC errors); activities turn them into ``ApplicationError`` with
``integration_errors()``. Messages are shown to users: they name the problem and never
hold a token.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.credentials import MissingCredentialError
from contracts.errors import INVALID_REQUEST, invalid_inputs
from telemetry import metrics


class IntegrationError(Exception):
    """A provider call failed; ``retryable`` says whether trying again can help.

    ``code`` is the provider's own error code when it gave one (``channel_not_found``,
    ``INPUT_ERROR``, ``-32001``), for callers that treat one code specially.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        if request_id:
            message = f"{message} (request id {request_id})"
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class AuthenticationError(IntegrationError):
    """The credential was refused: revoked, wrong, or missing a scope."""

    @classmethod
    def for_provider(
        cls,
        provider: str,
        *,
        detail: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> AuthenticationError:
        """The SPEC's "Permission denied" message for ``provider``, with its detail."""
        message = (
            f"Permission denied: the {provider} token was revoked or lacks scope; "
            "re-authorize in Settings -> Integrations"
        )
        text = f"{message} ({detail})" if detail else message
        return cls(text, status=status, code=detail, request_id=request_id)


class NotFoundError(IntegrationError):
    """The thing asked for does not exist (or is not visible to this credential)."""


class InvalidRequestError(IntegrationError):
    """The provider refused the input; retrying the same input cannot succeed."""


class RateLimitedError(IntegrationError):
    """The provider asked us to slow down; ``retry_after`` is how long, when it said.

    Every client makes one per rate-limited answer (HTTP 429, Linear's ``RATELIMITED``),
    whether the wait is then taken inside the attempt or by a retry, so this is where the
    answer is counted (``rensei_provider_rate_limited_total``, ``..._retry_wait_seconds``).
    One made with ``retryable=False`` restates an answer already counted (Linear's reset
    falls after the step's timeout) and is not counted again.
    """

    retryable = True

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if kwargs.get("retryable") is not False:
            metrics.rate_limited(self.retry_after)


class ProviderUnavailableError(IntegrationError):
    """A 5xx, a timeout or a dropped connection: worth retrying."""

    retryable = True


def parse_retry_after(
    value: str | None, *, now: float | Callable[[], float] | None = None
) -> float | None:
    """Reads ``Retry-After`` as seconds or as an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        current = time.time() if now is None else (now() if callable(now) else now)
        seconds = when.timestamp() - current
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def from_http_status(
    provider: str, response: httpx.Response, message: str | None = None
) -> IntegrationError:
    """The error for a non-2xx answer without a more specific provider error code."""
    status = response.status_code
    detail = message or f"{provider} answered HTTP {status}"
    if status in (401, 403):
        return AuthenticationError.for_provider(provider, detail=message, status=status)
    if status == 404:
        return NotFoundError(detail, status=status)
    if status == 429:
        delay = parse_retry_after(response.headers.get("retry-after"))
        return RateLimitedError(
            f"{provider} rate limit reached; retrying later", retry_after=delay, status=status
        )
    if status == 408 or status >= 500:
        delay = parse_retry_after(response.headers.get("retry-after"))
        return ProviderUnavailableError(detail, retry_after=delay, status=status)
    return InvalidRequestError(detail, status=status)


def from_transport(provider: str, exc: httpx.TransportError) -> ProviderUnavailableError:
    """A timeout or connection failure; the URL is kept out of the message on purpose."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
    return ProviderUnavailableError(f"{provider} {kind} ({type(exc).__name__})")


def to_application_error(exc: IntegrationError) -> ApplicationError:
    """The Temporal failure for ``exc``: type = class name, retry hints preserved."""
    delay = None
    if exc.retryable and exc.retry_after is not None:
        delay = timedelta(seconds=exc.retry_after)
    # The attempt number travels with the failure, so that a step that fails for good can
    # say how many attempts it made (the workflow sees only the last failure).
    details = [{"attempt": activity.info().attempt}] if activity.in_activity() else []
    return ApplicationError(
        exc.message,
        *details,
        type=type(exc).__name__,
        non_retryable=not exc.retryable,
        next_retry_delay=delay,
    )


@contextlib.contextmanager
def integration_errors() -> Iterator[None]:
    """Wraps an activity body: provider, input and credential errors become ApplicationError."""
    try:
        yield
    except IntegrationError as exc:
        raise to_application_error(exc) from exc
    except ValidationError as exc:
        raise ApplicationError(
            invalid_inputs(exc), type=INVALID_REQUEST, non_retryable=True
        ) from exc
    except MissingCredentialError as exc:
        raise ApplicationError(str(exc), type="MissingCredentialError", non_retryable=True) from exc
