"""Provider ids that go into URLs: one format check and one path encoding for every client.

incident.io's ids are 26-character ULID-style strings (``01FDAG4SAP5TYPT98WGR2N7W91``), and
its changelog warns that the format and length may change; so the check allows any id made
of letters, digits, ``_`` and ``-`` up to ``MAX_ID_LENGTH``, which keeps ``/``, ``?``, ``#``,
``..``, control and non-ASCII characters out of every path. The webhook route applies the same
check before it starts anything.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from activities.errors import InvalidRequestError

MAX_ID_LENGTH = 64
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,%d}" % (MAX_ID_LENGTH - 1))  # noqa: UP031


def is_valid_id(value: object) -> bool:
    """True for a non-empty id of letters, digits, ``_`` and ``-``, at most 64 characters."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def path_segment(value: str, *, what: str) -> str:
    """``value`` checked and percent-encoded for one URL path segment.

    Raises:
        InvalidRequestError: not retryable; the id is not one a provider could have issued.
    """
    if not is_valid_id(value):
        shown = value[:40] + ("..." if len(value) > 40 else "")
        raise InvalidRequestError(
            f"{what} {shown!r} is not a valid id (letters, digits, '_' and '-', "
            f"at most {MAX_ID_LENGTH} characters)"
        )
    return quote(value, safe="")
