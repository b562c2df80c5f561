"""The ``rensei`` command: thin verbs over the interpreter, the workflows and the stack."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from activities.catalogue import default_catalogue
from activities.incident_io.normalize import EventFormatError, trigger_from_document
from interpreter.bounded import check_bounded
from interpreter.compiler import compile_text
from interpreter.errors import DefinitionError
from interpreter.limits import MAX_DEFINITION_BYTES
from interpreter.plan import Plan
from settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def cmd_validate(args: argparse.Namespace) -> int:
    """Prints one ``file:line:col: message`` line per problem; exit 1 when an error is found.

    Warnings (``file:line:col: warning: ...``) are printed too but do not fail.
    """
    problems = warnings = 0
    for name in args.files:
        try:
            with Path(name).open("rb") as file:  # one byte past the limit is enough to refuse
                text = file.read(MAX_DEFINITION_BYTES + 1).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _out(f"{name}:1:1: cannot read the file: {exc}")
            problems += 1
            continue
        diagnostics = check_bounded(text, file=name, catalogue=default_catalogue, warnings=True)
        for diagnostic in diagnostics:
            _out(diagnostic.render())
        found = sum(d.severity == "warning" for d in diagnostics)
        warnings += found
        problems += len(diagnostics) - found
    noted = f", {warnings} warning(s)" if warnings else ""
    if problems:
        _err(f"{problems} problem(s){noted} in {len(args.files)} file(s)")
        return EXIT_FAILED
    _err(f"{len(args.files)} file(s) valid{noted}")
    return EXIT_OK


def _load_run_inputs(args: argparse.Namespace, settings: Settings) -> tuple[Plan, dict[str, Any]]:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _UsageError(f"{args.file}: cannot read the file: {exc}") from None
    catalogue = default_catalogue(incident_io_task_queue=settings.incident_io_task_queue)
    plan = compile_text(text, file=args.file, catalogue=catalogue)
    try:
        document = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _UsageError(f"{args.event}: cannot read the event: {exc}") from None
    except json.JSONDecodeError as exc:
        raise _UsageError(
            f"{args.event}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    if not isinstance(document, dict):
        raise _UsageError(f"{args.event}: the event must be a JSON object")
    try:
        trigger_type, trigger = trigger_from_document(document)
    except EventFormatError as exc:
        raise _UsageError(f"{args.event}: {exc}") from None
    if trigger_type is not None and trigger_type != plan.trigger_type:
        raise _UsageError(
            f"{args.event}: this event fires '{trigger_type}', but {args.file} is triggered by "
            f"'{plan.trigger_type}'"
        )
    return plan, trigger


class _UsageError(Exception):
    pass


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """The sandbox's Temporal server prints a banner on fd 1; stdout is kept for the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def _quiet(log: Path) -> Iterator[None]:
    """fds 1 and 2 (this process's and its children's: banners, logs) go to ``log``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _summary(name: str, outcome: dict[str, Any]) -> str:
    """One line for people: how the run ended and what its steps did."""
    counts: dict[str, int] = {}
    for step in outcome["steps"]:
        counts[step["status"]] = counts.get(step["status"], 0) + 1
    steps = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    line = f"rensei run: {name} {outcome['status']} ({steps or 'no steps'})"
    if outcome.get("error"):
        line += f": {outcome['error']}"
    return line


def cmd_run(args: argparse.Namespace) -> int:
    """Runs a definition once for one event and prints the outcome as JSON.

    stdout holds only the JSON document, stderr one line for people; with ``--sandbox``
    the servers' banners and logs are shown only with ``--verbose``.
    """
    settings = Settings()
    try:
        plan, trigger = _load_run_inputs(args, settings)
    except DefinitionError as exc:
        for diagnostic in exc.diagnostics:
            _err(diagnostic.render())
        return EXIT_USAGE
    except _UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    from stack.runner import RunnerError, run_once  # Temporal imports only for this verb

    log: Path | None = None
    with contextlib.ExitStack() as scope:
        if args.sandbox and not args.verbose:
            handle, name = tempfile.mkstemp(prefix="rensei-run-", suffix=".log")
            os.close(handle)
            log = Path(name)
            scope.enter_context(_quiet(log))
        elif args.sandbox:
            scope.enter_context(_stdout_to_stderr())
        try:
            outcome = asyncio.run(
                run_once(
                    plan,
                    trigger,
                    settings=settings,
                    sandbox=args.sandbox,
                    workspace=args.workspace,
                    approve_as=args.approve_as,
                )
            )
            problem = None
        except RunnerError as exc:
            problem = str(exc)
        except Exception as exc:  # shown in one line; the traceback with --verbose
            if args.verbose:
                raise
            logging.getLogger(__name__).exception("rensei run failed")
            problem = f"the run could not complete ({type(exc).__name__}: {exc}); "
            problem += f"the sandbox's log is {log}; run again with --verbose for the details"
    if problem is not None:
        _err(f"rensei run: {problem}")
        return EXIT_FAILED
    if log is not None:
        log.unlink(missing_ok=True)
    _out(json.dumps(outcome, indent=2, default=str))
    _err(_summary(plan.name, outcome))
    return EXIT_OK if outcome["status"] == "completed" else EXIT_FAILED


def cmd_approve(args: argparse.Namespace) -> int:
    """Decides a waiting approval step of a run, as an operator, through Temporal directly."""
    import getpass

    from temporalio.service import RPCError

    import temporal_client
    from stack.approvals import ApprovalError, decide
    from stack.references import IncidentReferenceError, as_reference, run_waiting_for_approval

    by = args.by or getpass.getuser() or "cli"
    decision: Literal["approved", "rejected"] = "rejected" if args.reject else "approved"
    settings = Settings()

    async def approve() -> Any:
        run = args.run
        reference = as_reference(run)
        if reference is not None:
            try:
                client = await temporal_client.connect(settings)
            except (RuntimeError, RPCError) as exc:
                raise ApprovalError(
                    f"cannot reach Temporal at {settings.address} ({exc})"
                ) from None
            run = await run_waiting_for_approval(client, args.workspace, reference, args.step)
        return await decide(settings, run, args.step, decision=decision, by=by, reason=args.reason)

    try:
        result = asyncio.run(approve())
    except (ApprovalError, IncidentReferenceError) as exc:
        _err(f"rensei approve: {exc}")
        return EXIT_FAILED
    _out(json.dumps(result.model_dump(mode="json"), indent=2))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """Prints, per event of an incident, which definitions were considered and why."""
    from temporalio.service import RPCError

    import temporal_client
    from stack.explain import ExplainError, explain, render
    from stack.references import IncidentReferenceError, resolve

    settings = Settings()

    async def report() -> Any:
        try:
            client = await temporal_client.connect(settings)
        except (RuntimeError, RPCError) as exc:
            raise ExplainError(f"cannot reach Temporal at {settings.address} ({exc})") from None
        try:
            incident = await resolve(
                settings, args.incident, workspace=args.workspace, client=client
            )
        except IncidentReferenceError as exc:
            raise ExplainError(str(exc)) from None
        return await explain(client, incident, args.workspace)

    try:
        found = asyncio.run(report())
    except ExplainError as exc:
        _err(f"rensei explain: {exc}")
        return EXIT_FAILED
    _out(json.dumps(found.model_dump(mode="json"), indent=2) if args.json else render(found))
    return EXIT_OK


def cmd_workflows(args: argparse.Namespace) -> int:
    """Lists, enables, disables or deletes stored definitions (the store of RENSEI_DATA_DIR)."""
    from activities.definitions import describe
    from store import Store

    async def act(store: Store) -> int:
        if args.workflows_verb == "list":
            listed = [describe(d) for d in await store.latest_definitions(args.workspace)]
            if args.json:
                _out(json.dumps([d.to_json() for d in listed], indent=2))
            for d in [] if args.json else listed:
                state = "enabled" if d.enabled else f"disabled ({d.disabled_by})"
                _out(f"{d.name:<28} v{d.version:<4} {state:<20} {d.trigger_type or d.problem}")
            return EXIT_OK
        name = args.name
        if args.workflows_verb == "delete":
            versions = await store.delete_definition(args.workspace, name)
            found = versions > 0
            if found:
                _err(f"deleted {name} ({versions} version(s)); runs already started finish")
        else:
            enabled = args.workflows_verb == "enable"
            found = await store.set_definition_enabled(args.workspace, name, enabled)
            current = await store.get_definition(args.workspace, name)
            if current is not None:
                _report_enabled(describe(current).disabled_by, name, enabled=enabled)
        if not found:
            _err(f"rensei workflows: no definition named '{name}' in workspace '{args.workspace}'")
            return EXIT_FAILED
        return EXIT_OK

    async def main() -> int:
        store = Store.from_settings(Settings())
        try:
            await store.migrate()
            return await act(store)
        finally:
            await store.close()

    return asyncio.run(main())


def _report_enabled(disabled_by: str | None, name: str, *, enabled: bool) -> None:
    if not enabled:
        _err(f"disabled {name}: new events no longer start it")
    elif disabled_by == "yaml":
        _err(f"enabled {name} in the store, but its YAML says 'enabled: false': edit the file")
    elif disabled_by == "invalid":
        _err(f"enabled {name}, but its newest version does not compile: fix it first")
    else:
        _err(f"enabled {name}: new events start it")


def cmd_up(args: argparse.Namespace) -> int:
    """Brings up the local stack in the foreground (``make run``)."""
    from stack.supervisor import run_stack

    return run_stack(Settings())


def cmd_worker(args: argparse.Namespace) -> int:
    import worker

    worker.main()
    return EXIT_OK


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from telemetry import logs, tracing

    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    tracing.setup("rensei-api")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # one log line per webhook delivery was a cost on the hot path
        # JSON: uvicorn's records go through the root handler like every other record.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )
    return EXIT_OK


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Adds a new master key and re-encrypts every stored credential under it."""
    from store.crypto import CredentialDecryptError, KeyringError
    from store.keys import rotate_master_key

    try:
        rotation = asyncio.run(rotate_master_key(Settings()))
    except (KeyringError, CredentialDecryptError) as exc:
        _err(f"rensei keys rotate: {exc}")
        return EXIT_FAILED
    _out(
        f"master key rotated: {rotation.old_key_id} -> {rotation.new_key_id}; "
        f"{rotation.credentials} credential(s) re-encrypted"
    )
    return EXIT_OK


def cmd_admin_token(args: argparse.Namespace) -> int:
    """Prints the admin token of the settings page and API (generating it on first use)."""
    from store.admin_token import ensure_admin_token

    _out(ensure_admin_token(Settings()))
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    """Serves a provider simulator in the foreground until interrupted."""
    from stack.sandbox_mode import serve_incident_io

    logging.getLogger().setLevel(logging.INFO)
    try:
        serve_incident_io(
            args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret
        )
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    return EXIT_OK


def cmd_simulate_sandbox(args: argparse.Namespace) -> int:
    """Serves every simulator of ``make run``'s sandbox mode until interrupted."""
    from stack.sandbox_mode import SandboxError, serve_sandbox

    logging.getLogger().setLevel(logging.INFO)
    settings = Settings()
    if args.port is not None:
        settings = settings.model_copy(update={"sandbox_port": args.port})
    try:
        asyncio.run(serve_sandbox(settings, webhook_url=args.webhook_url))
    except SandboxError as exc:
        _err(f"rensei simulate sandbox: {exc}")
        return EXIT_FAILED
    return EXIT_OK


def cmd_sandbox_incident(args: argparse.Namespace) -> int:
    """Declares an incident in the running sandbox's incident.io simulator."""
    from stack.sandbox_mode import SandboxError, declare_incident, resolve_incident

    settings = Settings()
    try:
        if args.resolve:
            found = asyncio.run(resolve_incident(settings, args.resolve))
        else:
            found = asyncio.run(
                declare_incident(
                    settings, title=args.title, severity=args.severity, summary=args.summary
                )
            )
    except SandboxError as exc:
        _err(f"rensei sandbox incident: {exc}")
        return EXIT_FAILED
    incident = found.get("incident", found)
    _out(f"{incident.get('reference', '')} {incident.get('id', '')}".strip())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rensei", description="Durable incident automation on Temporal."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    validate = verbs.add_parser("validate", help="check definition files")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=cmd_validate)

    run = verbs.add_parser(
        "run",
        help="run a definition once for an event",
        description="Runs a definition once for one event and prints the outcome as JSON. "
        "With --sandbox, Slack, Linear and the 'incident-responder' A2A agent are local "
        "simulators (Slack users U01ALICE, U01BOB, U01CAROL, U01DAVE; group @sre-leads = "
        "Alice and Bob). Approval steps wait for a decision: pass --approve-as to approve "
        "them automatically (on the stack, decide with 'rensei approve RUN STEP').",
    )
    run.add_argument("file", metavar="FILE")
    run.add_argument(
        "--event",
        required=True,
        metavar="EVENT.json",
        help='a trigger payload {"incident_io": {...}} or an incident.io webhook body',
    )
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="start a throw-away Temporal server and worker with providers on local simulators",
    )
    run.add_argument("--workspace", default="default")
    run.add_argument(
        "--verbose",
        action="store_true",
        help="with --sandbox: show the servers' banners and logs (on stderr) and tracebacks",
    )
    run.add_argument(
        "--approve-as",
        default=None,
        metavar="USER",
        help="approve every approval step once it waits: a Slack user id (U01ALICE) decides "
        "as a click (it must be an approver), any other name as an operator",
    )
    run.set_defaults(func=cmd_run)

    simulate = verbs.add_parser("simulate", help="serve a local provider simulator")
    simulators = simulate.add_subparsers(dest="provider", required=True, metavar="PROVIDER")
    incident_io = simulators.add_parser("incident-io", help="the incident.io API and webhooks")
    incident_io.add_argument("--port", type=int, default=8081)
    incident_io.add_argument("--webhook-url", metavar="URL", help="deliver webhooks here")
    incident_io.add_argument(
        "--webhook-secret", metavar="whsec_...", help="signing secret for the webhooks"
    )
    incident_io.set_defaults(func=cmd_simulate)
    every = simulators.add_parser(
        "sandbox", help="incident.io, Slack, Linear and the A2A agent (make run's sandbox mode)"
    )
    every.add_argument(
        "--port", type=int, default=None, help="incident.io's port; the others follow (+1..+3)"
    )
    every.add_argument(
        "--webhook-url",
        metavar="URL",
        help="deliver incident.io webhooks here (signed with "
        "the default workspace's stored secret)",
    )
    every.set_defaults(func=cmd_simulate_sandbox)

    sandbox = verbs.add_parser("sandbox", help="act on make run's sandbox simulators")
    sandbox_verbs = sandbox.add_subparsers(dest="sandbox_verb", required=True, metavar="VERB")
    incident = sandbox_verbs.add_parser(
        "incident", help="declare (or --resolve) an incident in the incident.io simulator"
    )
    incident.add_argument("--severity", default="SEV-2", help="SEV-1 .. SEV-4 (SEV-2)")
    incident.add_argument("--title", default="Sandbox incident")
    incident.add_argument("--summary", default=None)
    incident.add_argument(
        "--resolve", metavar="INCIDENT", help="resolve this incident (INC-42 or its id) instead"
    )
    incident.set_defaults(func=cmd_sandbox_incident)

    approve = verbs.add_parser(
        "approve",
        help="approve (or --reject) a waiting approval step of a run",
        description="Decides an approval step as an operator, through Temporal at "
        "RENSEI_TEMPORAL_ADDRESS (the local stack by default).",
    )
    approve.add_argument(
        "run",
        metavar="RUN",
        help="the run's workflow id, or its incident (INC-42): the run of it whose step waits",
    )
    approve.add_argument("--workspace", default="default", help="with an incident reference")
    approve.add_argument("step", metavar="STEP", help="the approval step's id")
    approve.add_argument("--reject", action="store_true", help="reject instead of approve")
    approve.add_argument("--reason", default=None, help="shown in Slack and on the timeline")
    approve.add_argument("--by", default=None, metavar="NAME", help="operator name ($USER)")
    approve.set_defaults(func=cmd_approve)

    explain_cmd = verbs.add_parser(
        "explain", help="why each definition did or did not run for an incident"
    )
    explain_cmd.add_argument("incident", metavar="INCIDENT", help="incident id, INC-42 or 42")
    explain_cmd.add_argument("--workspace", default="default")
    explain_cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    explain_cmd.set_defaults(func=cmd_explain)

    workflows = verbs.add_parser(
        "workflows",
        help="list, enable, disable or delete stored definitions",
        description="Acts on the definitions stored in the data directory's store "
        "(RENSEI_DATA_DIR, or RENSEI_DATABASE_URL).",
    )
    workflow_verbs = workflows.add_subparsers(dest="workflows_verb", required=True, metavar="VERB")
    listing = workflow_verbs.add_parser("list", help="every definition and whether it runs")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.add_argument("--workspace", default="default")
    for verb, text in (
        ("enable", "let new events start it"),
        ("disable", "stop new events from starting it (runs already started finish)"),
        ("delete", "delete every version (runs already started finish)"),
    ):
        one = workflow_verbs.add_parser(verb, help=text)
        one.add_argument("name", metavar="NAME")
        one.add_argument("--workspace", default="default")
    workflows.set_defaults(func=cmd_workflows)

    up = verbs.add_parser("up", help="run Temporal, the worker and the API in the foreground")
    up.set_defaults(func=cmd_up)
    worker_cmd = verbs.add_parser("worker", help="run the Temporal worker")
    worker_cmd.set_defaults(func=cmd_worker)
    api = verbs.add_parser("api", help="run the HTTP API")
    api.set_defaults(func=cmd_api)

    keys = verbs.add_parser("keys", help="manage the master keys of stored credentials")
    key_verbs = keys.add_subparsers(dest="keys_verb", required=True, metavar="VERB")
    rotate = key_verbs.add_parser("rotate", help="add a master key; re-encrypt every credential")
    rotate.set_defaults(func=cmd_keys_rotate)
    admin_token = verbs.add_parser("admin-token", help="print the admin token of the settings page")
    admin_token.set_defaults(func=cmd_admin_token)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Runs one verb and returns its exit code (argparse exits 2 on bad usage)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: ``run`` then leave without interpreter finalisation."""
    code = run(argv)
    # The Temporal SDK's Rust threads can abort CPython's finalisation of a short-lived
    # client process (temporalio/sdk-python#300); everything is flushed, so skip it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()


__all__ = ["build_parser", "main", "run"]
