"""docker-compose.yml checked against the code it runs: commands, settings, ports, health,
search attributes, start-up order; the health checks ask for readiness (``/readyz``). No Docker engine runs here; `docker-compose config`
checks the syntax when Debian's docker-compose is installed."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.routing import Match

from api.app import create_app
from cli import build_parser
from contracts.search import ALL_KEYS
from settings import Settings
from stack import worker_health
from stack.worker_health import WorkerState

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "docker-compose.yml"
ENCRYPTED = ROOT / "docker-compose.encrypted.yml"
ENV = {
    "RENSEI_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "RENSEI_ADMIN_TOKEN": "compose-test-token",
    "RENSEI_PUBLIC_URL": "https://rensei.example.com",
}


def serves(path: str, tmp: Path, method: str = "GET") -> bool:
    """Whether the API app has a route for ``method path``."""
    app = create_app(Settings(data_dir=tmp))
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load(BASE)["services"]
    return found


def rensei_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services().items() if s.get("build")}


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment is a mapping (not a list) everywhere"
    return {k: str(v) for k, v in env.items()}


def _verbs(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_rensei_command_exists() -> None:
    commands = [s["command"] for s in rensei_services().values()]
    assert commands
    for command in commands:
        assert command[0] == "rensei"
        parser = build_parser()
        for word in command[1:]:
            verbs = _verbs(parser)
            if not verbs:
                break
            assert word in verbs, f"'rensei {' '.join(command[1:])}': no verb '{word}'"
            parser = verbs[word]
        assert not _verbs(parser), f"{command}: incomplete command"


def _all_rensei_variables() -> set[str]:
    names: set[str] = set()
    for path in (BASE, ENCRYPTED):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\b(RENSEI_[A-Z0-9_]+)\s*:", text))
        names |= set(re.findall(r"\$\{(RENSEI_[A-Z0-9_]+)", text))
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    names |= set(re.findall(r"\b(RENSEI_[A-Z0-9_]+)=", dockerfile))
    return names - {"RENSEI_DB_NAME"}  # the schema script's own input, not a setting


def test_every_rensei_variable_is_a_setting() -> None:
    fields = {f"RENSEI_{name.upper()}" for name in Settings.model_fields}
    names = _all_rensei_variables()
    assert "RENSEI_PUBLIC_URL" in names and "RENSEI_WORKER_METRICS_PORT" in names
    assert names <= fields, f"not settings: {sorted(names - fields)}"


def test_the_schema_script_variable_is_not_a_setting() -> None:
    # RENSEI_DB_NAME is excluded above only because it is no Settings field.
    assert "db_name" not in Settings.model_fields


def test_the_settings_read_from_compose_validate() -> None:
    for name, service in rensei_services().items():
        env = {k: v for k, v in env_of(service).items() if "${" not in v}
        values = {k.removeprefix("RENSEI_").lower(): v for k, v in env.items()}
        Settings.model_validate(values)  # raises on a bad value
        assert "RENSEI_PUBLIC_URL" in env_of(service), f"{name}: no public URL"


def _http_healthcheck(service: dict[str, Any]) -> tuple[int, str]:
    test = " ".join(service["healthcheck"]["test"])
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", test)
    assert match, f"healthcheck is not an HTTP probe: {test}"
    return int(match.group(1)), match.group(2)


def test_api_ports_and_healthcheck_agree(tmp_path: Path) -> None:
    api = services()["api"]
    env = env_of(api)
    port = int(env["RENSEI_API_PORT"])
    assert env["RENSEI_API_HOST"] == "0.0.0.0"
    assert any(str(p).split(":")[-1] == str(port) for p in api["ports"])
    probe_port, path = _http_healthcheck(api)
    assert (probe_port, path) == (port, "/readyz"), "the probe asks for readiness"
    assert serves(path, tmp_path) and serves("/metrics", tmp_path)


def workers() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in rensei_services().items() if s["command"] == ["rensei", "worker"]}


def test_two_workers_with_metrics_ports_and_healthchecks() -> None:
    assert len(workers()) >= 2
    for name, service in workers().items():
        env = env_of(service)
        port = int(env["RENSEI_WORKER_METRICS_PORT"])
        assert port > 0 and env["RENSEI_WORKER_METRICS_HOST"] == "0.0.0.0", name
        assert str(port) in [str(p) for p in service["expose"]]
        assert not service.get("ports"), f"{name}: replicas cannot share a host port"
        health = int(env["RENSEI_WORKER_HEALTH_PORT"])
        assert health != port, f"{name}: health and metrics need their own ports"
        assert _http_healthcheck(service) == (health, "/readyz"), name


@pytest.mark.asyncio
async def test_the_worker_health_server_answers_the_probed_path() -> None:
    """The probed path is one the worker serves: 503 before it polls (the probe fails), not 404."""
    _, path = _http_healthcheck(next(iter(workers().values())))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with worker_health.serving(port, WorkerState()):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        status = (await reader.readline()).decode()
        writer.close()
        await writer.wait_closed()
    assert status.startswith("HTTP/1.1 503 "), status


def test_start_up_order_and_no_swallowed_failures() -> None:
    found = services()
    for name, service in rensei_services().items():
        needs = service["depends_on"]
        assert needs["temporal-setup"]["condition"] == "service_completed_successfully", name
    assert found["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    assert found["temporal-setup"]["depends_on"]["temporal"]["condition"] == "service_healthy"
    texts = [BASE.read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "deploy").glob("*.sh")]
    for text in texts:
        assert "|| true" not in text and "tctl" not in text
    for script in (ROOT / "deploy").glob("*.sh"):
        assert "set -eu" in script.read_text(encoding="utf-8"), script.name


def test_setup_scripts_are_mounted_where_the_services_run_them() -> None:
    for name in ("temporal-schema", "temporal-setup"):
        service = services()[name]
        assert "./deploy:/deploy:ro" in service["volumes"]
        script = service["command"][-1]
        assert (ROOT / script.removeprefix("/")).is_file(), f"{name}: {script} missing"


def test_search_attributes_cover_the_code() -> None:
    setup = env_of(services()["temporal-setup"])
    listed = set(setup["SEARCH_ATTRIBUTES"].split())
    assert {key.name for key in ALL_KEYS} <= listed
    assert "IncidentReference" in listed


def test_images_are_pinned_and_temporal_versions_agree() -> None:
    images = {n: s["image"] for n, s in services().items() if "image" in s}
    for name, image in images.items():
        _, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{name}: {image} is not pinned"
    assert images["temporal"] == "temporalio/server:1.30.1"
    assert images["temporal-schema"] == images["temporal-setup"] == "temporalio/admin-tools:1.30.1"
    assert "temporalio/auto-setup" not in " ".join(images.values())


def test_definitions_volume_and_public_url() -> None:
    api = services()["api"]
    folder = env_of(api)["RENSEI_DEFINITIONS_DIR"]
    assert any(v.endswith(f":{folder}:ro") for v in api["volumes"])
    assert env_of(api)["RENSEI_PUBLIC_URL"].startswith("${RENSEI_PUBLIC_URL:?")


def test_the_codec_endpoint_comes_only_with_encryption(tmp_path: Path) -> None:
    base_text = BASE.read_text(encoding="utf-8")
    assert "TEMPORAL_CODEC_ENDPOINT" not in base_text
    assert "RENSEI_ENCRYPT_PAYLOADS" not in base_text
    override = load(ENCRYPTED)["services"]
    for name in rensei_services():
        assert override[name]["environment"]["RENSEI_ENCRYPT_PAYLOADS"] == "true", name
    codec = override["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    assert codec.startswith("${RENSEI_PUBLIC_URL") and codec.endswith("}/codec")
    assert serves("/codec/decode", tmp_path, "POST")


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (apt-get install -y docker-compose)",
)
@pytest.mark.parametrize("files", [[BASE], [BASE, ENCRYPTED]], ids=["base", "encrypted"])
def test_docker_compose_config_accepts_the_files(files: list[Path]) -> None:
    args = ["docker-compose", "--project-directory", str(ROOT)]
    for path in files:
        args += ["-f", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENSEI_")} | ENV
    done = subprocess.run(
        [*args, "config", "-q"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
