"""The error types activities raise that no retry can fix, as retry policies name them.

The classes are in ``activities/errors.py``; workflows and the node catalogue name them here.
"""

from __future__ import annotations

REQUEST_ERRORS: tuple[str, ...] = ("AuthenticationError", "InvalidRequestError")
"""The credentials or the request are wrong: trying again cannot help."""

NON_RETRYABLE_ERRORS: tuple[str, ...] = (*REQUEST_ERRORS, "NotFoundError")
"""Also what the provider says does not exist: the default of every provider node."""
