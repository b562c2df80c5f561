"""The error answers any route may give, as documented in the OpenAPI schema.

Routes answer problems in one of two shapes: ``{"error": "..."}`` (with extra fields such
as ``diagnostics``) or FastAPI's ``{"detail": ...}``. Documenting them once, for the whole
app, lets the schema fuzz test hold every response to the schema.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """What went wrong, in words; some answers add fields (``diagnostics``, ``status``)."""

    model_config = ConfigDict(extra="allow")

    error: str | None = None
    detail: Any = None


_REASONS = {
    400: "The request is malformed or breaks a limit (see the README's Limits)",
    401: "Missing or wrong credentials or signature",
    403: "Not allowed",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "The body is larger than the route's limit",
    503: "A dependency (Temporal, a provider) is unavailable; retry later",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": reason} for code, reason in _REASONS.items()
}


class TemporalUnavailableError(RuntimeError):
    """Temporal could not be reached; answered 503 with ``Retry-After`` by every route."""


_UNAVAILABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


async def _temporal_unavailable(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, RPCError) and exc.status not in _UNAVAILABLE:
        raise exc  # any other RPC failure is a bug of ours, left to the 500 handler
    log.warning("Temporal is unavailable: %s", exc)
    return JSONResponse(
        status_code=503,
        content={"error": "Temporal is unavailable; please retry"},
        headers={"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Temporal being down is a 503 on every route, never a 500."""
    app.add_exception_handler(TemporalUnavailableError, _temporal_unavailable)
    app.add_exception_handler(RPCError, _temporal_unavailable)
