"""Shared set-up of the ingest benchmarks: a dev server (in memory or a WAL file) and settings."""

from __future__ import annotations

import uuid
from pathlib import Path

from pydantic import SecretStr
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from stack import devserver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - a bench-only secret
ADMIN = SecretStr("admin-token-for-benchmarks-0123456")


async def dev_server(db_file: Path | None) -> WorkflowEnvironment:
    """The dev server: in memory, or a SQLite file with the WAL pragmas ``rensei up`` uses."""
    extra: list[str] = []
    if db_file is not None:
        extra = ["--db-filename", str(db_file)]
        for pragma in devserver.SQLITE_PRAGMAS:
            extra += ["--sqlite-pragma", pragma]
    return await devserver.start_local(
        data_converter=pydantic_data_converter, dev_server_extra_args=extra
    )


def bench_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings with a private data directory and a unique task queue."""
    values: dict[str, object] = {
        "data_dir": tmp / "data",
        "definitions_dir": tmp / "definitions",
        "task_queue": f"bench-{uuid.uuid4().hex[:8]}",
        "admin_token": ADMIN,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def server_label(db_file: Path | None) -> str:
    """How the section names the server mode."""
    return "in-memory dev server" if db_file is None else "dev server on a WAL SQLite file"
