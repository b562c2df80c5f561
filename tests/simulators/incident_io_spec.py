"""Finds incident.io's OpenAPI spec and validates bodies against it, closed-world."""

from __future__ import annotations

import copy
import functools
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:incident-io-openapi"
SKIP_MESSAGE = (
    "incident.io OpenAPI spec not found: set INCIDENT_IO_OPENAPI or place "
    "shared/incident-io/openapi.json beside the repository"
)


def find_spec() -> Path | None:
    env = os.environ.get("INCIDENT_IO_OPENAPI")
    if env:
        return Path(env) if Path(env).is_file() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "incident-io" / "openapi.json"
        if candidate.is_file():
            return candidate
    return None


def _close(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null type; objects forbid extras.

    The spec leaves additionalProperties open, so without this a misspelt field in the
    simulator would pass unnoticed. The simulator is meant to emit only documented fields.
    """
    if isinstance(node, list):
        return [_close(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _close(v) for k, v in node.items() if k not in ("example", "examples")}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    path = find_spec()
    if path is None:
        pytest.skip(SKIP_MESSAGE)
    spec: dict[str, Any] = json.loads(path.read_text())
    return spec


@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    closed = copy.deepcopy(load_spec())
    closed["components"] = _close(closed["components"])
    return Registry().with_resource(
        SPEC_URI, Resource.from_contents(closed, default_specification=DRAFT202012)
    )


_formats = FormatChecker()


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raises jsonschema.ValidationError listing the first problem in `instance`."""
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=_formats)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise errors[0]


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The spec's schema for this operation and status, or None if it documents none."""
    op = load_spec()["paths"].get(path, {}).get(method.lower())
    if op is None:
        return None
    response = op["responses"].get(str(status))
    if response is None:
        return None
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return _close(schema) if schema else None


def webhook_schema(event_type: str) -> dict[str, Any]:
    entry = load_spec()["x-webhooks"][f"/x-webhooks/{event_type}"]["get"]
    schema = entry["responses"]["200"]["content"]["application/json"]["schema"]
    return dict(_close(schema))


def rbac_scopes(method: str, path: str) -> list[str] | None:
    op = load_spec()["paths"].get(path, {}).get(method.lower())
    return None if op is None else list(op.get("x-rbac-scopes") or [])


def _ref(schema: dict[str, Any]) -> dict[str, Any]:
    # response_schema() returns local "#/components/..." refs; point them at the registry.
    text = json.dumps(schema).replace('"#/components/', f'"{SPEC_URI}#/components/')
    result: dict[str, Any] = json.loads(text)
    return result


def validate_response(method: str, path: str, status: int, body: Any) -> bool:
    """Validates against the spec if it documents this response; returns whether it did."""
    schema = response_schema(method, path, status)
    if schema is None:
        return False
    validate(body, _ref(schema))
    return True


def validate_webhook(event_type: str, body: Any) -> None:
    validate(body, _ref(webhook_schema(event_type)))


# Written from NOTES §3.1 / the newer SDKs' ErrorResponse: not in the saved spec.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "status", "request_id", "errors"],
    "properties": {
        "type": {
            "enum": [
                "invalid_request_error",
                "authentication_error",
                "resource_forbidden",
                "not_found",
                "not_acceptable",
                "method_not_allowed",
                "request_timeout",
                "conflict",
                "precondition_failed",
                "payload_too_large",
                "validation_error",
                "too_many_requests",
                "api_error",
                "rate_limit_reached",
                "client_timeout",
            ]
        },
        "status": {"type": "integer"},
        "request_id": {"type": "string", "minLength": 1},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "minLength": 1},
                    "message": {"type": "string", "minLength": 1},
                    "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                    "source": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["field"],
                        "properties": {"field": {"type": "string"}, "pointer": {"type": "string"}},
                    },
                },
            },
        },
        "rate_limit": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "limit", "remaining", "retry_after"],
            "properties": {
                "name": {"type": "string"},
                "limit": {"type": "integer"},
                "remaining": {"type": "integer"},
                "retry_after": {"type": "string", "format": "date-time"},
            },
        },
    },
}

TIMELINE_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "incident_id", "title", "timestamp", "created_at", "updated_at", "creator"],
    "properties": {
        "id": {"type": "string"},
        "incident_id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "creator": component("ActorV2"),
        "activity_log_id": {"type": "string"},
    },
}

# Response bodies of operations newer than the saved spec (NOTES §7.2, §8.3).
NEWER_RESPONSES: dict[tuple[str, str, int], dict[str, Any]] = {
    ("POST", "/v2/incident_updates", 201): {
        "type": "object",
        "additionalProperties": False,
        "required": ["incident_update"],
        "properties": {"incident_update": component("IncidentUpdateV2")},
    },
    ("GET", "/v2/incident_timeline_items", 200): {
        "type": "object",
        "additionalProperties": False,
        "required": ["incident_timeline_items"],
        "properties": {
            "incident_timeline_items": {"type": "array", "items": TIMELINE_ITEM_SCHEMA},
            "pagination_meta": component("PaginationMetaResultV2"),
        },
    },
    ("POST", "/v2/incident_timeline_items", 201): {
        "type": "object",
        "additionalProperties": False,
        "required": ["incident_timeline_item"],
        "properties": {"incident_timeline_item": TIMELINE_ITEM_SCHEMA},
    },
}
