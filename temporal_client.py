"""The client side of rensei's workflows: connecting to Temporal, and every call the API, the
CLI and the sync poll make to the incident, sync and run workflows.

Workflows are named by their registered names and messages by theirs (``contracts/ids.py``,
the ``hint`` signal, the ``decide`` update, the ``explain``/``state``/``approvals``
queries), with the data contracts as their arguments and results, so no caller imports
workflow code to reach a workflow.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    Interceptor,
    TLSConfig,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from contracts.ids import (
    INCIDENT_WORKFLOW,
    INTERPRETER_WORKFLOW,
    SYNC_WORKFLOW,
    incident_workflow_id,
    sync_workflow_id,
)
from contracts.incident import ExplainReport, Hint, IncidentWorkflowInput
from contracts.messages import DecideInput, DecideResult, PendingApproval, already_decided
from contracts.runs import STEP_FAILED, InterpretInput, RunResult
from contracts.search import search_attribute_pairs
from contracts.sync import SyncInput
from settings import Settings
from stack.backoff import Backoff, until_up
from store.codec import data_converter
from telemetry import tracing
from telemetry.logs import LogContextInterceptor

log = logging.getLogger(__name__)
QUERY_TIMEOUT = timedelta(seconds=10)

# Client.connect raises RuntimeError when the frontend does not answer; RPCError when it
# answers but is not serving yet (a cluster still starting).
TEMPORAL_DOWN: tuple[type[BaseException], ...] = (RuntimeError, RPCError, OSError, TimeoutError)


class TemporalConfigError(RuntimeError):
    """The Temporal connection settings are inconsistent or name an unreadable file.

    A ``RuntimeError`` like the SDK's own connection failures, so every caller that reports
    "cannot reach Temporal" reports this too, with the setting's name.
    """


class WorkflowNotFoundError(LookupError):
    """No workflow has this id (for an update: none that still runs)."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"no running workflow '{workflow_id}'")
        self.workflow_id = workflow_id


class DecisionRefusedError(RuntimeError):
    """The run refused the decision; the message is its validator's own words."""


# --- connecting


def _read_pem(path: Path | None, setting: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TemporalConfigError(
            f"RENSEI_{setting.upper()}: cannot read {path}: {exc.strerror or exc}"
        ) from None


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The TLS options of the Temporal connection: False (plaintext), True (TLS with the
    system's CA roots) or a ``TLSConfig`` with a CA, a client certificate and key, a name.

    Raises:
        TemporalConfigError: a certificate without its key (or the reverse), or a file that
            cannot be read; the message names the setting.
    """
    if (settings.temporal_tls_cert is None) != (settings.temporal_tls_key is None):
        raise TemporalConfigError(
            "RENSEI_TEMPORAL_TLS_CERT and RENSEI_TEMPORAL_TLS_KEY go together: set both "
            "(mTLS) or neither"
        )
    ca = _read_pem(settings.temporal_tls_ca, "temporal_tls_ca")
    cert = _read_pem(settings.temporal_tls_cert, "temporal_tls_cert")
    key = _read_pem(settings.temporal_tls_key, "temporal_tls_key")
    name = settings.temporal_tls_server_name
    if ca or cert or name:
        return TLSConfig(
            server_root_ca_cert=ca,
            client_cert=cert,
            client_private_key=key,
            domain=name,
        )
    return settings.temporal_tls or settings.temporal_api_key is not None


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client for the configured Temporal frontend, with rensei's data converter.

    Every process (worker, API, CLI) connects through here, so they all agree on the
    namespace, TLS (``RENSEI_TEMPORAL_TLS*``), the Cloud API key, payload encryption
    (``RENSEI_ENCRYPT_PAYLOADS=1``: AES-GCM under the master key) and tracing. ``runtime``
    is the worker's (it serves the SDK's metrics).
    """
    interceptors: list[Interceptor] = [LogContextInterceptor()]
    traced = tracing.interceptor()
    if traced is not None:
        interceptors.append(traced)
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=tls_config(settings),
        api_key=api_key.get_secret_value() if api_key is not None else None,
        interceptors=interceptors,
        runtime=runtime,
    )


async def connect_with_backoff(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """``connect(settings)``, tried again with capped exponential backoff until Temporal answers.

    A ``TemporalConfigError`` (inconsistent TLS settings, an unreadable file) is raised at
    once: waiting cannot fix it.
    """
    return await until_up(
        lambda: connect(settings, runtime=runtime),
        what="Temporal",
        where=settings.address,
        transient=TEMPORAL_DOWN,
        permanent=(TemporalConfigError,),
        backoff=Backoff(cap=settings.reconnect_max_interval),
        logger=log,
    )


# --- incidents


async def signal_incident(
    temporal: Client,
    workspace: str,
    incident_id: str,
    hint: Hint,
    *,
    task_queue: str,
    incident_io_task_queue: str,
    connected_at: str | None = None,
    announce_creation: bool = True,
    rpc_timeout: timedelta | None = None,
) -> None:
    """Delivers ``hint`` to the incident's workflow, starting it if needed (atomically).

    ``task_queue`` is the workflow's, ``incident_io_task_queue`` that of its incident.io
    activities (both from Settings). The webhook route and the sync poll both hint here;
    the sandbox starts its incident's workflow with ``announce_creation=False`` (a baseline).
    """
    await temporal.start_workflow(
        INCIDENT_WORKFLOW,
        IncidentWorkflowInput(
            workspace=workspace,
            incident_id=incident_id,
            connected_at=connected_at,
            announce_creation=announce_creation,
            incident_io_task_queue=incident_io_task_queue,
        ),
        id=incident_workflow_id(workspace, incident_id),
        task_queue=task_queue,
        start_signal="hint",
        start_signal_args=[hint],
        rpc_timeout=rpc_timeout,
    )


def incident_hinter(
    temporal: Client, *, task_queue: str, incident_io_task_queue: str
) -> Callable[[str, str, Hint, str | None], Awaitable[None]]:
    """``signal_incident`` bound to a client and the queues: what the sync poll hints with."""

    async def hint_incident(
        workspace: str, incident_id: str, hint: Hint, connected_at: str | None
    ) -> None:
        await signal_incident(
            temporal,
            workspace,
            incident_id,
            hint,
            task_queue=task_queue,
            incident_io_task_queue=incident_io_task_queue,
            connected_at=connected_at,
        )

    return hint_incident


async def explain(temporal: Client, workspace: str, incident_id: str) -> ExplainReport:
    """The incident workflow's ``explain`` query: the incident as last seen and, per event,
    every definition considered.

    Raises:
        WorkflowNotFoundError: rensei has no workflow for this incident.
    """
    workflow_id = incident_workflow_id(workspace, incident_id)
    handle = temporal.get_workflow_handle(workflow_id)
    try:
        report: ExplainReport = await handle.query("explain", result_type=ExplainReport)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowNotFoundError(workflow_id) from None
        raise
    return report


# --- the incident.io sync of a workspace


async def start_sync(
    temporal: Client, settings: Settings, workspace: str, *, connected_at: str | None
) -> dict[str, Any]:
    """Starts the workspace's sync (or wakes the running one) and says so."""
    handle = await temporal.start_workflow(
        SYNC_WORKFLOW,
        SyncInput(
            workspace=workspace,
            interval=settings.sync_interval,
            connected_at=connected_at,
            incident_io_task_queue=settings.incident_io_task_queue,
        ),
        id=sync_workflow_id(workspace),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await handle.signal("poll_now")
    return {
        "status": "running",
        "workflow_id": handle.id,
        "interval_seconds": settings.sync_interval,
    }


async def stop_sync(temporal: Client, workspace: str) -> None:
    """Cancels the workspace's sync; nothing to do when none runs."""
    handle = temporal.get_workflow_handle(sync_workflow_id(workspace))
    try:
        description = await handle.describe()
    except RPCError:
        return
    if description.status == WorkflowExecutionStatus.RUNNING:
        await handle.terminate(reason="incident.io disconnected")


# --- runs


async def start_run(
    temporal: Client, params: InterpretInput, *, workflow_id: str, task_queue: str
) -> WorkflowHandle[Any, RunResult]:
    """Starts one ``InterpreterWorkflow`` run of ``params``, with its search attributes set
    at the start (so the run finds them present and upserts nothing)."""
    return await temporal.start_workflow(
        INTERPRETER_WORKFLOW,
        params,
        id=workflow_id,
        task_queue=task_queue,
        result_type=RunResult,
        search_attributes=TypedSearchAttributes(search_attribute_pairs(params)),
    )


async def run_result(handle: WorkflowHandle[Any, RunResult]) -> RunResult:
    """Waits for the run to end and returns its outcome, a failed run's too.

    A run that failed in a step carries its step report in the failure; for any other
    failure the report is the run's ``state`` query.
    """
    try:
        return await handle.result()
    except WorkflowFailureError as failure:
        carried = result_of_failure(failure)
        if carried is not None:
            return carried
    return await _state(handle)


async def run_state(temporal: Client, workflow_id: str, *, run_id: str | None = None) -> RunResult:
    """A child run's ``state`` query (an ``InterpreterWorkflow``): every step's status and
    output so far. An inline run has no workflow of its own: its incident's ``explain``
    report (or that workflow's ``run_state`` query) has its steps.

    Raises:
        WorkflowNotFoundError: no workflow has this id.
    """
    return await _state(temporal.get_workflow_handle(workflow_id, run_id=run_id))


async def _state(handle: WorkflowHandle[Any, Any]) -> RunResult:
    try:
        state: RunResult = await handle.query(
            "state", result_type=RunResult, rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowNotFoundError(handle.id) from None
        raise
    return state


def result_of_failure(error: BaseException) -> RunResult | None:
    """The step report a run that failed in a step carries in its ``WorkflowFailureError``
    (an ``ApplicationError`` of type ``STEP_FAILED``), or None for any other failure."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, ApplicationError) and cause.type == STEP_FAILED and cause.details:
        return RunResult.model_validate(cause.details[0])
    return None


# --- runs: approvals


async def approvals(
    temporal: Client,
    workflow_id: str,
    *,
    run_id: str | None = None,
    rpc_timeout: timedelta | None = None,
) -> list[PendingApproval]:
    """A run's ``approvals`` query: every approval step reached, waiting or decided.

    Raises:
        WorkflowNotFoundError: no workflow has this id.
    """
    handle = temporal.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        found: list[PendingApproval] = await handle.query(
            "approvals", result_type=list[PendingApproval], rpc_timeout=rpc_timeout
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowNotFoundError(workflow_id) from None
        raise
    return found


async def decide(
    temporal: Client,
    workflow_id: str,
    params: DecideInput,
    *,
    run_id: str | None = None,
    update_id: str | None = None,
) -> DecideResult:
    """Sends the run's ``decide`` update and returns the decision as the run recorded it.

    Every caller decides through here: the API (operators), Slack's buttons, ``rensei
    approve`` and the sandbox's auto-approver. ``update_id`` deduplicates a decision sent
    twice (Slack's retries, an idempotency key). ``decide`` is synchronous in the run, so
    an update it accepted is already complete.

    Raises:
        DecisionRefusedError: the run refused it (the step is not waiting, or the Slack
            user is not an approver); the message says why.
        WorkflowNotFoundError: no run with this id is running.
        RPCError: anything else Temporal answered.
    """
    handle = temporal.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        update = await handle.start_update(
            "decide",
            params,
            id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=DecideResult,
        )
        result: DecideResult = await update.result()
    except WorkflowUpdateFailedError as exc:
        raise DecisionRefusedError(refusal(exc)) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowNotFoundError(workflow_id) from None
        raise
    return result


def refusal(exc: WorkflowUpdateFailedError) -> str:
    """The validator's own words (``ApplicationError.message``, without its type prefix)."""
    cause = exc.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or exc)


async def why_closed(
    temporal: Client, workflow_id: str, step_id: str, *, run_id: str | None = None
) -> str:
    """Why a run took no decision: it has ended (and maybe decided already), or never was."""
    handle = temporal.get_workflow_handle(workflow_id, run_id=run_id)
    try:
        await handle.describe()
    except RPCError:
        return f"no running workflow '{workflow_id}'"
    try:
        items = await approvals(temporal, workflow_id, run_id=run_id, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowNotFoundError):
        items = []
    item = next((i for i in items if i.step_id == step_id), None)
    if item is not None and item.status in ("approved", "rejected"):
        return already_decided(item)
    return f"run '{workflow_id}' has ended; it no longer takes decisions"
