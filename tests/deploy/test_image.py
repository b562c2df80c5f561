"""The image: .dockerignore keeps local state and secrets out of the build context, the
Dockerfile builds in two stages and runs as an unprivileged user."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.deploy.dockerignore import context_files, ignored, parse

ROOT = Path(__file__).resolve().parents[2]
SECRETS = [
    ".data/master.key",
    ".data/admin.token",
    ".data/rensei.db",
    ".data/keys/old.key",
    ".data/sandbox/slack-state.json",
    ".venv/pyvenv.cfg",
    ".venv/bin/python",
    ".venv/lib/python3.11/site-packages/x.py",
    ".git/config",
    "api/__pycache__/app.cpython-311.pyc",
    "deep/er/.data/master.key",
    "admin.token",
    "store/tls/client.key",
    "ca.pem",
    ".env",
]


def patterns() -> list:
    return parse((ROOT / ".dockerignore").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SECRETS)
def test_local_state_and_secrets_never_enter_the_build_context(path: str) -> None:
    assert ignored(path, patterns()), f"{path} would be sent to the Docker daemon"


def test_a_real_data_folder_stays_out_of_the_context(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".dockerignore", tmp_path / ".dockerignore")
    for rel in [*SECRETS, "cli.py", "api/app.py", "pyproject.toml"]:
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x", encoding="utf-8")
    sent = set(context_files(tmp_path))
    assert {"cli.py", "api/app.py", "pyproject.toml"} <= sent
    assert not sent & set(SECRETS)


def test_the_worktree_context_holds_no_state() -> None:
    sent = list(context_files(ROOT))
    leaked = [
        p
        for p in sent
        if p.split("/")[0] in {".data", ".venv", ".git"}
        or re.search(r"(\.token|\.key|\.pem|\.pyc)$", p)
    ]
    assert not leaked
    assert "pyproject.toml" in sent and "store/migrations/env.py" in sent


def test_the_matcher_follows_docker_semantics() -> None:
    rules = parse("*.pyc\n**/*.log\n/build\ndocs\n!docs/keep.md\n")
    assert ignored("a.pyc", rules) and not ignored("pkg/a.pyc", rules)  # root only
    assert ignored("x/y/z.log", rules) and ignored("z.log", rules)
    assert ignored("build/lib/a.py", rules)
    assert ignored("docs/a.md", rules) and not ignored("docs/keep.md", rules)


def _stages(dockerfile: str) -> list[list[str]]:
    stages: list[list[str]] = []
    for line in re.sub(r"\\\n", " ", dockerfile).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_the_dockerfile_builds_in_stages_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = _stages(dockerfile)
    assert len(stages) >= 2
    final = stages[-1]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    # Nothing is built in the final stage: no compiler, no pip, no source copy.
    runs = " ".join(line for line in final if line.upper().startswith("RUN "))
    assert not re.search(r"apt-get|apk |build-essential|gcc|pip install", runs)
    copies = [line for line in final if line.upper().startswith("COPY ")]
    assert copies and all("--from=" in line for line in copies)


def test_every_copied_source_is_in_the_build_context() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    sent = set(context_files(ROOT))
    for line in dockerfile.splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for source in words[1:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: missing"
            inside = [p for p in sent if p == source or p.startswith(source.rstrip("/") + "/")]
            assert inside, f"COPY {source}: excluded by .dockerignore"
    packages = re.findall(r'"(\w+)\*"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, f"package {package} not copied"
