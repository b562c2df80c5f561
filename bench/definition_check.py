"""Definition checks in a forked child (time and memory budget) against the same check in-process.

Both run interleaved in one process: the example definition, a 500-step definition (the step
limit) and the billion-laughs file that once took gigabytes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from activities.catalogue import default_catalogue
from bench.interpreter_overhead import big_definition
from bench.report import write_section
from interpreter.bounded import check_bounded
from interpreter.compiler import check_text

EXAMPLE = Path(__file__).parent.parent / "examples" / "route-by-severity.yaml"


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join(["*" + previous] * 9) + "]")
    return "\n".join(lines) + "\n"


def _median_ms(check: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        check()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.definition_check")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv or [])
    rounds = 5 if args.quick else 30
    catalogue = default_catalogue()
    started = time.perf_counter()
    check_bounded("a: 1\n", file="warm.yaml", catalogue=default_catalogue)
    first_ms = (time.perf_counter() - started) * 1000
    rows = []
    for label, text in [
        ("route-by-severity.yaml", EXAMPLE.read_text()),
        ("500 steps", big_definition(500)),
        ("billion laughs (refused)", billion_laughs()),
    ]:
        inline = _median_ms(
            lambda t=text: check_text(t, file="x.yaml", catalogue=catalogue), rounds
        )
        child = _median_ms(
            lambda t=text: check_bounded(t, file="x.yaml", catalogue=default_catalogue), rounds
        )
        rows.append(f"| {label} | {inline:.1f} | {child:.1f} | {child / inline:.1f}x |")
        print(rows[-1], flush=True)
    body = "\n".join(
        [
            "## Definition check: forked child with a budget against in-process",
            "",
            "`.venv/bin/python -m bench.definition_check` (median of "
            f"{rounds} rounds each, interleaved in one process). The API, the worker and",
            "`rensei validate` check definitions in a child forked from a preloaded",
            f"forkserver; starting that forkserver took {first_ms:.0f} ms once per process.",
            "",
            "| definition | in-process ms | child ms | ratio |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    write_section("definition-check", body)


if __name__ == "__main__":
    main()
