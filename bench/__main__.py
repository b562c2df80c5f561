"""Runs every benchmark module's ``main()`` (pass ``--quick`` for the short versions)."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> None:
    for module in pkgutil.iter_modules(bench.__path__):
        if module.name.startswith("_"):
            continue
        entry = getattr(importlib.import_module(f"bench.{module.name}"), "main", None)
        if entry is not None:
            print(f"== bench.{module.name}", flush=True)
            entry(sys.argv[1:])


if __name__ == "__main__":
    main()
