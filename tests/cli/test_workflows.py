"""``rensei workflows list|enable|disable|delete`` on the store of the data directory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from activities.definitions import store_definition
from cli import run
from settings import Settings
from store import Store
from tests.api.test_workflows import DORMANT, SRE_PAGE


def test_workflows_verbs_act_on_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RENSEI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RENSEI_DATABASE_URL", raising=False)

    async def seed() -> None:
        store = Store.from_settings(Settings())
        await store.migrate()
        await store_definition(store, "default", "sre-page", SRE_PAGE)
        await store_definition(store, "default", "dormant", DORMANT)
        await store.close()

    asyncio.run(seed())
    assert run(["workflows", "disable", "sre-page"]) == 0
    assert "disabled sre-page" in capsys.readouterr().err
    assert run(["workflows", "list", "--json"]) == 0
    listed = {w["name"]: w["enabled"] for w in json.loads(capsys.readouterr().out)}
    assert listed == {"dormant": False, "sre-page": False}
    assert run(["workflows", "enable", "dormant"]) == 0
    assert "its YAML says 'enabled: false'" in capsys.readouterr().err
    assert run(["workflows", "enable", "sre-page"]) == 0
    assert run(["workflows", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dormant") and "disabled (yaml)" in lines[0]
    assert lines[1].startswith("sre-page") and " enabled " in lines[1]
    assert run(["workflows", "delete", "sre-page"]) == 0
    assert run(["workflows", "delete", "sre-page"]) == 1
    assert "no definition named 'sre-page'" in capsys.readouterr().err
