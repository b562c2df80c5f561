"""Deep-object list filters (`field[op]=v`, `custom_field[id][op]=v`) and cursor pagination."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import parse_qsl

from simulators.incident_io.errors import invalid
from simulators.incident_io.records import IncidentRecord
from simulators.incident_io.seed import Workspace

T = TypeVar("T")
Predicate = Callable[[IncidentRecord], bool]

_KEY = re.compile(r"^([A-Za-z_]+)((?:\[[^\[\]]*\])*)$")
_CATEGORY_ALIASES = {"active": "live", "post-incident": "learning"}
_CATEGORIES = {"triage", "declined", "merged", "canceled", "live", "learning", "closed", "paused"}
_MODES = {"standard", "retrospective", "test", "tutorial"}


@dataclass(frozen=True)
class Condition:
    """One `name[path...][op]` filter and every value given for it."""

    name: str
    path: tuple[str, ...]
    op: str
    values: tuple[str, ...]

    @property
    def param(self) -> str:
        return self.name + "".join(f"[{p}]" for p in (*self.path, self.op))


@dataclass(frozen=True)
class Query:
    """A parsed query string: plain parameters plus deep-object conditions."""

    plain: dict[str, list[str]]
    conditions: tuple[Condition, ...]

    def first(self, name: str) -> str | None:
        values = self.plain.get(name)
        return values[0] if values else None


def parse_query(raw: str) -> Query:
    """Parses a raw query string; repeated parameters keep every value, in order."""
    plain: dict[str, list[str]] = {}
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        # Clients that serialise arrays PHP-style send `severity[one_of][]=...`.
        key = key.removesuffix("[]")
        match = _KEY.match(key)
        if match is None or not match.group(2):
            plain.setdefault(key, []).append(value)
            continue
        parts = tuple(re.findall(r"\[([^\[\]]*)\]", match.group(2)))
        grouped.setdefault((match.group(1), parts), []).append(value)
    conditions = tuple(
        Condition(name, parts[:-1], parts[-1], tuple(values))
        for (name, parts), values in grouped.items()
    )
    return Query(plain, conditions)


def page_size(query: Query, *, maximum: int, default: int = 25) -> int:
    raw = query.first("page_size")
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        raise invalid("page_size", f"page_size must be an integer, got {raw!r}") from None
    if not 1 <= size <= maximum:
        raise invalid("page_size", f"page_size must be between 1 and {maximum}, got {size}")
    return size


def paginate(
    items: Sequence[T], *, after: str | None, size: int, ident: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """Returns one page after the item with id `after`, and the cursor for the next page."""
    start = 0
    if after:
        ids = [ident(item) for item in items]
        if after not in ids:
            raise invalid("after", f"after cursor {after!r} does not match any record")
        start = ids.index(after) + 1
    page = list(items[start : start + size])
    more = start + size < len(items)
    return page, (ident(page[-1]) if more and page else None)


def _moment(raw: str, *, end_of_day: bool, param: str) -> datetime:
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if end_of_day else day
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(param, f"{param}: {raw!r} is not a date or RFC 3339 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date_test(cond: Condition) -> Callable[[datetime], bool]:
    value = cond.values[-1]
    if cond.op == "gte":
        low = _moment(value, end_of_day=False, param=cond.param)
        return lambda moment: moment >= low
    if cond.op == "lte":
        high = _moment(value, end_of_day=True, param=cond.param)
        return lambda moment: moment <= high
    if cond.op == "date_range":
        start, sep, end = value.partition("~")
        if not sep:
            raise invalid(cond.param, f"{cond.param} must look like 2024-12-02~2024-12-08")
        lo = _moment(start, end_of_day=False, param=cond.param)
        hi = _moment(end, end_of_day=True, param=cond.param)
        return lambda moment: lo <= moment <= hi
    raise _bad_op(cond, ("gte", "lte", "date_range"))


def _bad_op(cond: Condition, allowed: Sequence[str]) -> Exception:
    return invalid(
        cond.param, f"unsupported operator {cond.op!r} for {cond.name}; use one of {list(allowed)}"
    )


def _set_test(cond: Condition, get: Callable[[IncidentRecord], set[str]]) -> Predicate:
    wanted = set(cond.values)
    if cond.op == "one_of":
        return lambda inc: bool(get(inc) & wanted)
    if cond.op == "not_in":
        return lambda inc: not (get(inc) & wanted)
    if cond.op == "is_set":
        want = cond.values[-1] == "true"
        return lambda inc: bool(get(inc)) == want
    if cond.op == "is_blank":
        want = cond.values[-1] == "true"
        return lambda inc: (not get(inc)) == want
    raise _bad_op(cond, ("one_of", "not_in"))


def _category(ws: Workspace, inc: IncidentRecord) -> set[str]:
    status = ws.status(inc.status_id)
    return {status.category} if status else set()


def _severity_test(cond: Condition, ws: Workspace) -> Predicate:
    if cond.op in ("one_of", "not_in"):
        return _set_test(cond, lambda inc: {inc.severity_id} if inc.severity_id else set())
    if cond.op not in ("gte", "lte"):
        raise _bad_op(cond, ("one_of", "not_in", "gte", "lte"))
    pivot = ws.severity(cond.values[-1])
    if pivot is None:
        raise invalid(cond.param, f"{cond.param}: unknown severity id {cond.values[-1]!r}")

    def test(inc: IncidentRecord) -> bool:
        sev = ws.severity(inc.severity_id) if inc.severity_id else None
        if sev is None:
            return False
        return sev.rank >= pivot.rank if cond.op == "gte" else sev.rank <= pivot.rank

    return test


def _predicate(cond: Condition, ws: Workspace) -> Predicate | None:
    name = cond.name
    if name == "status_category":
        values = tuple(_CATEGORY_ALIASES.get(v, v) for v in cond.values)
        unknown = [v for v in values if v not in _CATEGORIES]
        if unknown:
            raise invalid(cond.param, f"unknown status category {unknown[0]!r}")
        cond = Condition(name, cond.path, cond.op, values)
        return _set_test(cond, lambda inc: _category(ws, inc))
    if name == "status":
        return _set_test(cond, lambda inc: {inc.status_id})
    if name == "severity":
        return _severity_test(cond, ws)
    if name == "incident_type":
        return _set_test(cond, lambda inc: {inc.type_id} if inc.type_id else set())
    if name in ("created_at", "updated_at"):
        test = _date_test(cond)
        if name == "created_at":
            return lambda inc: test(inc.created_at)
        return lambda inc: test(inc.updated_at)
    if name == "custom_field" and len(cond.path) == 1:
        field_id = cond.path[0]
        if ws.custom_field(field_id) is None:
            raise invalid(cond.param, f"unknown custom field {field_id!r}")
        return _set_test(cond, lambda inc: _field_values(inc, field_id))
    if name == "incident_role" and len(cond.path) == 1:
        role_id = cond.path[0]
        return _set_test(cond, lambda inc: _assignee(inc, role_id))
    return None


def _field_values(inc: IncidentRecord, field_id: str) -> set[str]:
    found: set[str] = set()
    for value in inc.custom_fields.get(field_id, []):
        found.update(str(v) for k, v in value.items() if k.startswith("value_"))
    return found


def _assignee(inc: IncidentRecord, role_id: str) -> set[str]:
    user = inc.role_assignments.get(role_id)
    return {user} if user else set()


def incident_filter(query: Query, ws: Workspace) -> Predicate:
    """Builds the predicate for `GET /v2/incidents` from its deep-object parameters."""
    modes = {"standard", "retrospective"}
    predicates: list[Predicate] = []
    for cond in query.conditions:
        if cond.name == "mode":
            if cond.op != "one_of":
                raise _bad_op(cond, ("one_of",))
            unknown = [v for v in cond.values if v not in _MODES]
            if unknown:
                raise invalid(cond.param, f"unknown mode {unknown[0]!r}")
            modes = set(cond.values)
            continue
        predicate = _predicate(cond, ws)
        if predicate is not None:
            predicates.append(predicate)
    filter_mode = query.first("filter_mode") or "all"
    if filter_mode not in ("all", "any"):
        raise invalid("filter_mode", "filter_mode must be 'all' or 'any'")
    combine = all if filter_mode == "all" else any

    def matches(inc: IncidentRecord) -> bool:
        if inc.mode not in modes:
            return False
        return not predicates or combine(p(inc) for p in predicates)

    return matches
