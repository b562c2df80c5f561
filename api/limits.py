"""Limits at the API's edge: request bodies read with a cap while streaming, JSON with a depth.

Every value here appears in the README's "Limits" table. A body is refused (413) as soon as
its declared ``Content-Length`` or the bytes received so far pass the route's limit, so no
more than the limit plus one chunk is ever held; a chunked body is counted the same way.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from interpreter.limits import MAX_DEFINITION_BYTES

MAX_WEBHOOK_BODY = 256 * 1024
"""incident.io deliveries are a few KB; a whole incident with long custom fields stays far
below this."""

MAX_SLACK_BODY = 256 * 1024
"""``POST /api/webhooks/slack/interactions``: a block action carries its message's blocks."""

MAX_DEFINITION_BODY = MAX_DEFINITION_BYTES
"""``PUT /api/workflows/{name}``: the definition text limit."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and lists in a JSON body."""

MAX_WEBHOOK_ID = 256
"""Longest ``webhook-id`` header (Svix ids are ``msg_`` and 27 characters)."""


class BodyError(Exception):
    """A request body was refused; ``status`` is the HTTP answer (400 or 413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, *, limit: int) -> bytes:
    """The request body, refused with 413 once it passes ``limit`` bytes.

    Raises:
        BodyError: 413 past the limit (declared or received), 400 for a bad Content-Length.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BodyError(400, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise BodyError(413, f"the body is larger than {limit} bytes")
    received = bytearray()
    async for chunk in request.stream():
        if len(received) + len(chunk) > limit:
            raise BodyError(413, f"the body is larger than {limit} bytes")
        received += chunk
    return bytes(received)


def parse_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parses JSON and refuses nesting deeper than ``max_depth``.

    The depth is measured without recursion after a successful parse; the C decoder's own
    recursion guard turns anything deeper than the interpreter's stack into the same error.

    Raises:
        BodyError: 400 with what is wrong and, for syntax errors, where.
    """
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise BodyError(400, f"the JSON is nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise BodyError(400, f"the body is not usable JSON: {exc}") from None
    if _depth_exceeds(value, max_depth):
        raise BodyError(400, f"the JSON is nested more than {max_depth} levels deep")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
