"""``RENSEI_ENCRYPT_PAYLOADS=1`` end to end: a run's history holds only ``binary/encrypted``
payloads, and the API's codec endpoint turns them back into the plaintext."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payloads
from temporalio.testing import WorkflowEnvironment

import temporal_client
import worker
from activities.catalogue import default_catalogue
from api.app import create_app
from interpreter.compiler import compile_text
from settings import Settings
from stack.runner import run_once
from store import Store
from store.codec import ENCODING
from tests.apps import AppTransport

ADMIN = "admin-token-for-encryption-tests"
MARKER = "plaintext-marker-7f3c9a"
ECHO = """name: echo
trigger:
  type: trigger.incident_io.incident.created
steps:
  - id: say
    type: debug.echo
    inputs: {text: "{{ $trigger.incident_io.title }}"}
"""


def _payloads(node: Any) -> list[dict[str, Any]]:
    """Every proto3-JSON Payload (a dict with ``metadata`` and ``data``) inside ``node``.

    Search attributes are left out: Temporal indexes them, so they are never encoded
    (rensei's hold ids and names only, never an input).
    """
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            found.append(node)
        else:
            for key, value in node.items():
                if key != "searchAttributes":
                    found += _payloads(value)
    elif isinstance(node, list):
        for value in node:
            found += _payloads(value)
    return found


@pytest.mark.asyncio
async def test_encrypted_payloads_end_to_end(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue=f"enc-{uuid.uuid4().hex[:8]}",
        encrypt_payloads=True,
        admin_token=SecretStr(ADMIN),
        definitions_dir=tmp_path / "definitions",
    )
    store = Store.from_settings(settings)
    await store.migrate()
    try:
        await _run_and_check(dev_env, settings, store)
    finally:
        await store.close()


async def _run_and_check(env: WorkflowEnvironment, settings: Settings, store: Store) -> None:
    client = await temporal_client.connect(settings)
    plan = compile_text(ECHO, file="echo.yaml", catalogue=default_catalogue())
    trigger = {"incident_io": {"incident_id": "01ENC", "title": MARKER}}
    async with contextlib.AsyncExitStack() as running:
        http = await running.enter_async_context(worker.http_client())
        for w in worker.build_workers(client, settings, store=store, http=http):
            await running.enter_async_context(w)
        outcome = await run_once(plan, trigger, settings=settings, sandbox=False)
    assert outcome["status"] == "completed"
    assert outcome["steps"][0]["output"] == {"text": MARKER}

    # The plain client of the session reads the history as the server stores it.
    workflows = [w async for w in env.client.list_workflows(f"TaskQueue='{settings.task_queue}'")]
    assert len(workflows) == 1
    history = await env.client.get_workflow_handle(workflows[0].id).fetch_history()
    raw = history.to_json()
    assert MARKER not in raw
    payloads = _payloads(json.loads(raw))
    assert payloads, "the history holds no payload at all"
    encodings = {p["metadata"].get("encoding") for p in payloads}
    assert encodings == {_b64(ENCODING)}

    # The codec endpoint (what the Temporal UI is pointed at) decrypts them.
    app = create_app(settings, store=store, client=client)
    transport = AppTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        response = await api.post(
            "/codec/decode",
            content=json.dumps({"payloads": payloads}),
            headers={"Authorization": f"Bearer {ADMIN}", "X-Namespace": "default"},
        )
    assert response.status_code == 200, response.text
    decoded = json_format.Parse(response.content, Payloads()).payloads
    assert all(p.metadata["encoding"] != ENCODING for p in decoded)
    assert any(MARKER.encode() in p.data for p in decoded)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def test_make_run_points_the_temporal_ui_at_the_codec_endpoint(tmp_path: Path) -> None:
    from stack import devserver
    from stack.supervisor import codec_endpoint

    plain = Settings(data_dir=tmp_path, api_port=8123)
    encrypted = plain.model_copy(update={"encrypt_payloads": True})
    assert codec_endpoint(plain) is None
    endpoint = codec_endpoint(encrypted)
    assert endpoint == "http://127.0.0.1:8123/codec"
    command = devserver.dev_server_command(
        port=7233, ui_port=8233, db_file=None, codec_endpoint=endpoint
    )
    assert command[command.index("--ui-codec-endpoint") + 1] == endpoint
    assert "--ui-codec-endpoint" not in devserver.dev_server_command(
        port=7233, ui_port=8233, db_file=None
    )
