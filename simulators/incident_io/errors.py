"""incident.io's error envelope: one exception, rendered as {type, status, request_id, errors}."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "resource_forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error response in incident.io's envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        metadata: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = _TYPES_BY_STATUS.get(status, "api_error")
        item: dict[str, Any] = {"code": code, "message": message}
        if field is not None:
            item["source"] = {"field": field, "pointer": "/" + field.replace(".", "/")}
        if metadata:
            item["metadata"] = metadata
        self.errors = [item]
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "request_id": str(uuid.uuid4()),
            "errors": self.errors,
            **self.extra,
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def unauthenticated(message: str, code: str = "authentication_error") -> ApiError:
    return ApiError(401, code, message)


def forbidden_scope(scope: str) -> ApiError:
    return ApiError(
        403,
        "missing_required_scope",
        f"missing a required scope: {scope}",
        metadata={"scope": scope},
    )


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"No {kind} found with id {ident!r}")


def invalid(field: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(422, code, message, field=field)


def required(field: str, message: str | None = None) -> ApiError:
    return ApiError(422, "is_required", message or f"{field} is required", field=field)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "type": "invalid"}
    field = _field_of(tuple(first.get("loc", ())))
    if first.get("type") == "missing":
        return required(field).response()
    if first.get("type") == "json_invalid":
        return ApiError(400, "invalid_json", "The request body is not valid JSON").response()
    message = f"{field}: {first.get('msg', 'is invalid')}"
    return invalid(field, message).response()


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        error = ApiError(404, "not_found", f"No route for {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = ApiError(405, "method_not_allowed", f"{request.method} is not allowed here")
    else:
        error = ApiError(exc.status_code, "api_error", str(exc.detail))
    return error.response()


def install_error_handlers(app: FastAPI) -> None:
    """Renders every error the app raises in incident.io's envelope."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
