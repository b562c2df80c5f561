"""Log set-up for every process: text by default, one JSON object per line on request.

``RENSEI_LOG_FORMAT=json`` makes each record a JSON object with, where known, the ids an
operator searches by: ``workspace``, ``incident``, ``definition``, ``run`` (the workflow
id), ``run_id`` and ``step``. They come from three places, never from message arguments:

* the API binds them per request with ``bind()`` (context variables);
* activities: ``activity.info()``, plus the ``NodeContext`` of the activity's input, which
  ``LogContextInterceptor`` binds for the activity's duration;
* workflow code: the SDK's ``temporal_workflow`` extra (``workflow.info()``) and the run's
  search attributes.

Records carry only these fields, the logger name, the level and the message: never the
extra arguments of a call, so a token passed by mistake as ``extra=`` does not reach a log.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, client, workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FIELDS = ("workspace", "incident", "definition", "run", "run_id", "step")

_bound: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("rensei_log_context")


@contextlib.contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Binds ids (``workspace=``, ``incident=``...) to every record logged inside the block."""
    token = _bound.set(_bound.get({}) | {k: v for k, v in ids.items() if v})
    try:
        yield
    finally:
        _bound.reset(token)


def bind(**ids: str | None) -> None:
    """Adds ids to the current context (a request's task) until it ends."""
    _bound.set(_bound.get({}) | {k: v for k, v in ids.items() if v})


def current_ids(record: logging.LogRecord | None = None) -> dict[str, str]:
    """The ids known where ``record`` was logged (or here and now)."""
    ids: dict[str, str] = {}
    temporal_wf = getattr(record, "temporal_workflow", None)
    if isinstance(temporal_wf, dict):
        ids |= _from_workflow(temporal_wf)
    if activity.in_activity():
        info = activity.info()
        ids |= {"run": info.workflow_id or "", "run_id": info.workflow_run_id or ""}
        ids["node"] = info.activity_type
    ids |= _bound.get({})
    return {k: v for k, v in ids.items() if v}


def _from_workflow(extra: dict[str, Any]) -> dict[str, str]:
    ids = {"run": str(extra.get("workflow_id") or ""), "run_id": str(extra.get("run_id") or "")}
    with contextlib.suppress(Exception):  # outside the workflow's own event loop
        attributes = workflow.info().typed_search_attributes
        for pair in attributes:
            field = _SEARCH_FIELDS.get(pair.key.name)
            if field is not None:
                ids[field] = str(pair.value)
    return ids


_SEARCH_FIELDS = {
    "Workspace": "workspace",
    "IncidentId": "incident",
    "DefinitionName": "definition",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the known ids, the error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= current_ids(record)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str, log_format: str) -> None:
    """Sets up the root logger of a process (the entry points call it once)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


class LogContextInterceptor(client.Interceptor, Interceptor):
    """Binds the ``NodeContext`` of an activity's input (workspace, incident, definition,
    step) to every record the activity logs, whatever logger it uses."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityContext(next)


class _ActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        context = getattr(input.args[0], "context", None) if input.args else None
        if context is None or not hasattr(context, "step_id"):
            return await self.next.execute_activity(input)
        with bound(
            workspace=context.workspace,
            incident=context.incident_id,
            definition=context.definition,
            step=context.step_id,
        ):
            return await self.next.execute_activity(input)
