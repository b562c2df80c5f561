"""`rensei validate` on hostile files: a clear limit diagnostic, bounded memory, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from interpreter import limits
from tests.interpreter.test_limits import HEAD, billion_laughs

# Runs `rensei validate` in a fresh interpreter and reports the peak RSS of everything it
# started (the CLI and the check's children). RUSAGE_CHILDREN of pytest itself would be the
# peak of every child any earlier test reaped (a Temporal dev server, say), not this one's.
MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "cli", "validate", *sys.argv[1:]],
                      capture_output=True, text=True, timeout=120, check=False)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr, "mib": peak}))
"""


def validate_measured(*files: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_hostile_files_get_diagnostics_and_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "laughs.yaml").write_text(billion_laughs())
    bang = (
        HEAD
        + '  - id: a\n    type: debug.echo\n    inputs:\n      v: "{{ '
        + "!" * 1000
        + '$trigger }}"\n'
    )
    (tmp_path / "bang.yaml").write_text(bang)
    step = "  - id: s{n}\n    type: debug.echo\n    inputs: {{text: step {n}}}\n"
    (tmp_path / "huge.yaml").write_text(HEAD + "".join(step.format(n=n) for n in range(55_000)))
    assert (tmp_path / "huge.yaml").stat().st_size > 2_000_000
    done = validate_measured("laughs.yaml", "bang.yaml", "huge.yaml", cwd=tmp_path)
    assert done["rc"] == 1
    assert "Traceback" not in str(done["err"])
    lines = str(done["out"]).splitlines()
    assert lines[0].startswith("laughs.yaml:5:4: the definition expands to more than")
    assert lines[1].startswith("bang.yaml:8:") and "nested too deeply" in lines[1]
    assert (
        lines[2]
        == f"huge.yaml:1:1: the definition is larger than {limits.MAX_DEFINITION_BYTES} bytes"
    )
    assert len(lines) == 3
    # The billion laughs once took several GB in this process; the check's child has its own cap.
    assert isinstance(done["mib"], float) and done["mib"] < 400
