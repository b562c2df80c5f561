"""Checks a definition in a child process with a time and memory budget.

The API and ``rensei validate`` check untrusted text here rather than in their own process:
a definition that passes every limit of ``interpreter.limits`` yet is costly to check can
use up its child's budget, never the event loop or the caller's memory. Children are forked
from a ``forkserver`` that has already imported the compiler and the catalogue's module, so
a check costs a fork, not an interpreter start (see the README's "Limits" section).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import resource
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from interpreter import limits
from interpreter.compiler import check_text
from interpreter.errors import Diagnostic, Position
from interpreter.nodes import Catalogue

CatalogueFactory = Callable[[], Catalogue]


@dataclass(frozen=True)
class Budget:
    """What one check may spend: wall-clock seconds and memory beyond the child's start."""

    seconds: float
    memory_bytes: int

    @classmethod
    def default(cls) -> Budget:
        return cls(limits.CHECK_SECONDS, limits.CHECK_MEMORY_BYTES)


_CONTEXT = multiprocessing.get_context("forkserver")
_RUNNING = threading.BoundedSemaphore(limits.CHECK_CONCURRENCY)
_PRELOADED: set[str] = set()


def check_bounded(
    text: str, *, file: str, catalogue: CatalogueFactory, budget: Budget | None = None
) -> list[Diagnostic]:
    """``check_text`` in a child process; blocking, so async callers run it in a thread.

    Args:
        text: the YAML source.
        file: the name used in diagnostics.
        catalogue: a module-level function returning the catalogue (it runs in the child).
        budget: the child's time and memory; ``Budget.default()`` when omitted.

    Returns:
        Every problem of the definition, or one diagnostic saying which budget it exceeded.
    """
    budget = budget or Budget.default()
    _preload(catalogue)
    with _RUNNING:
        reader, writer = _CONTEXT.Pipe(duplex=False)
        child = _CONTEXT.Process(
            target=_check_in_child, args=(writer, text, file, catalogue, budget), daemon=True
        )
        child.start()
        writer.close()
        try:
            outcome = _receive(reader, budget.seconds)
        finally:
            reader.close()
            child.kill()
            child.join()
    if isinstance(outcome, list):
        return outcome
    mib = budget.memory_bytes // (1024 * 1024)
    message = {
        "time": f"checking the definition took longer than {budget.seconds:g} s; it was stopped",
        "memory": f"checking the definition needed more than {mib} MiB; it was stopped",
    }.get(outcome, f"checking the definition stopped without an answer (memory limit {mib} MiB)")
    return [Diagnostic(file, Position(1, 1), message, "make the definition smaller or simpler")]


def _receive(reader: Connection, seconds: float) -> list[Diagnostic] | str:
    if not reader.poll(seconds):
        return "time"
    try:
        kind, diagnostics = reader.recv()
    except EOFError:  # the child died before answering (a crash, or killed for its memory)
        return "crashed"
    return diagnostics if kind == "ok" else str(kind)


def _preload(catalogue: CatalogueFactory) -> None:
    # Each child re-runs the main module (multiprocessing's rule for non-fork starts); with
    # it and its imports preloaded in the forkserver, that costs a module body, not imports.
    modules = {"interpreter._forkserver", "interpreter.compiler", catalogue.__module__}
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        modules.add(spec.name)
    elif getattr(main, "__file__", None):
        modules.add("__main__")  # a script: the forkserver imports it once for its children
    if not modules <= _PRELOADED:
        _PRELOADED.update(modules)
        _CONTEXT.set_forkserver_preload(sorted(_PRELOADED))


def _check_in_child(  # pragma: no cover  (runs in the child process; tested through it)
    writer: Connection, text: str, file: str, catalogue: CatalogueFactory, budget: Budget
) -> None:
    with contextlib.suppress(ValueError, OSError):  # a platform without these limits
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        start = os.sysconf("SC_PAGE_SIZE") * pages
        cap = start + budget.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    cpu = math.ceil(budget.seconds) + 1
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        diagnostics = check_text(text, file=file, catalogue=catalogue())
    except MemoryError:
        writer.send(("memory", []))
        return
    writer.send(("ok", diagnostics))
