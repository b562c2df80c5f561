"""`rensei validate` on hostile files: a clear limit diagnostic, bounded memory, no traceback."""

from __future__ import annotations

import resource
from pathlib import Path

from interpreter import limits
from tests.cli.test_cli import rensei
from tests.interpreter.test_limits import HEAD, billion_laughs


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
    done = rensei("validate", "laughs.yaml", "bang.yaml", "huge.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("laughs.yaml:5:4: the definition expands to more than")
    assert lines[1].startswith("bang.yaml:8:") and "nested too deeply" in lines[1]
    assert (
        lines[2]
        == f"huge.yaml:1:1: the definition is larger than {limits.MAX_DEFINITION_BYTES} bytes"
    )
    assert len(lines) == 3
    # The billion laughs once took several GB in this process; the check's child has its own cap.
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mib < 400
