"""Writes one benchmark's section of docs/benchmarks.md, leaving the others alone."""

from __future__ import annotations

import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Measured with `make bench` (or the command under each section) on the development machine.
Machines here are shared and noisy, so every figure that matters is a ratio against a
baseline measured in the same run.
"""


def machine() -> str:
    """A one-line description of where the figures were taken."""
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}"


def write_section(key: str, body: str) -> None:
    """Replaces (or appends) the section between ``<!-- bench:key -->`` markers."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"{start}\n{body.strip()}\n\n_Last run {stamp} on {machine()}._\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values`` (inclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(q) - 1))]
