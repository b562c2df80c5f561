"""``rensei keys rotate`` and ``rensei admin-token``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import cli
from settings import Settings
from store import Store
from store.crypto import keyring_path


def test_keys_rotate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RENSEI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RENSEI_MASTER_KEY", raising=False)
    monkeypatch.delenv("RENSEI_DATABASE_URL", raising=False)
    settings = Settings()

    async def seed() -> None:
        store = Store.from_settings(settings)
        await store.migrate()
        await store.put_credential("default", "incident_io", "token", "inc_cli_rotation_1234")
        await store.close()

    asyncio.run(seed())
    assert cli.run(["keys", "rotate"]) == 0
    assert "1 credential(s) re-encrypted" in capsys.readouterr().out
    assert keyring_path(settings).read_text().count('"k-') == 3  # current + two keys


def test_keys_rotate_without_a_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RENSEI_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("RENSEI_MASTER_KEY", raising=False)
    assert cli.run(["keys", "rotate"]) == 1
    assert "no master key" in capsys.readouterr().err


def test_admin_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RENSEI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RENSEI_ADMIN_TOKEN", raising=False)
    assert cli.run(["admin-token"]) == 0
    first = capsys.readouterr().out.strip()
    assert cli.run(["admin-token"]) == 0
    assert capsys.readouterr().out.strip() == first and first.startswith("rensei_")
