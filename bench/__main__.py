"""``make bench``: runs every benchmark and updates docs/benchmarks.md."""

from __future__ import annotations

import importlib
import sys

MODULES = ["bench.interpreter_overhead"]


def main() -> None:
    for name in MODULES:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main(sys.argv[1:] if len(MODULES) == 1 else [])


if __name__ == "__main__":
    main()
