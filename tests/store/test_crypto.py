"""AES-GCM credentials: round trip, binding to the row, tampering, keyring file, masking."""

from __future__ import annotations

import base64
import dataclasses
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from settings import Settings
from store import crypto
from store.crypto import CredentialDecryptError, KeyringError, mask

ROW = {"workspace": "default", "integration": "incident_io", "field": "token"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_round_trip_uses_a_fresh_nonce_every_time(settings: Settings) -> None:
    keyring = crypto.load_keyring(settings)
    first = crypto.seal(keyring, "inc_secret", **ROW)
    second = crypto.seal(keyring, "inc_secret", **ROW)
    assert first.nonce != second.nonce and len(first.nonce) == 12
    assert b"inc_secret" not in first.ciphertext
    assert crypto.open_sealed(keyring, first, **ROW) == "inc_secret"
    assert first.key_id == keyring.current


def test_a_ciphertext_moved_to_another_row_does_not_open(settings: Settings) -> None:
    keyring = crypto.load_keyring(settings)
    sealed = crypto.seal(keyring, "inc_secret", **ROW)
    with pytest.raises(CredentialDecryptError) as caught:
        crypto.open_sealed(
            keyring, sealed, workspace="other", integration="incident_io", field="token"
        )
    assert str(caught.value) == (
        "credential incident_io.token of workspace other cannot be decrypted: "
        "wrong master key or tampered data"
    )
    with pytest.raises(CredentialDecryptError):
        crypto.open_sealed(
            keyring, sealed, workspace="default", integration="incident_io", field="webhook_secret"
        )


def test_tampered_ciphertext_nonce_or_key_id_fail_clearly(settings: Settings) -> None:
    keyring = crypto.load_keyring(settings)
    sealed = crypto.seal(keyring, "inc_secret", **ROW)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    for bad in (
        dataclasses.replace(sealed, ciphertext=flipped),
        dataclasses.replace(sealed, nonce=os.urandom(12)),
        dataclasses.replace(sealed, key_id="k-unknown"),
        dataclasses.replace(sealed, nonce=b"short"),
    ):
        with pytest.raises(CredentialDecryptError, match="wrong master key or tampered data"):
            crypto.open_sealed(keyring, bad, **ROW)


def test_wrong_master_key_fails_clearly(settings: Settings, tmp_path: Path) -> None:
    sealed = crypto.seal(crypto.load_keyring(settings), "inc_secret", **ROW)
    other = crypto.load_keyring(Settings(data_dir=tmp_path / "other"))
    other.keys[sealed.key_id] = other.current_key  # same id, different key
    with pytest.raises(CredentialDecryptError):
        crypto.open_sealed(other, sealed, **ROW)


def test_keyring_file_is_created_once_with_mode_0600(settings: Settings) -> None:
    first = crypto.load_keyring(settings)
    path = crypto.keyring_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = crypto.load_keyring(settings)
    assert again.current == first.current and again.current_key == first.current_key


def test_rotation_adds_a_key_and_keeps_old_ones_readable(settings: Settings) -> None:
    keyring = crypto.load_keyring(settings)
    old = crypto.seal(keyring, "xoxb-1", **ROW)
    rotated = crypto.add_new_key(keyring)
    assert rotated.current != keyring.current
    reloaded = crypto.load_keyring(settings)
    assert reloaded.current == rotated.current
    assert crypto.open_sealed(reloaded, old, **ROW) == "xoxb-1"
    assert stat.S_IMODE(crypto.keyring_path(settings).stat().st_mode) == 0o600


def test_master_key_from_the_environment(settings: Settings) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    keyring = crypto.load_keyring(settings.model_copy(update={"master_key": SecretStr(key)}))
    assert keyring.current.startswith("env-") and keyring.from_environment
    assert not crypto.keyring_path(settings).exists()
    with pytest.raises(KeyringError, match="RENSEI_MASTER_KEY"):
        crypto.add_new_key(keyring)
    with pytest.raises(KeyringError, match="32 bytes"):
        crypto.load_keyring(settings.model_copy(update={"master_key": SecretStr("c2hvcnQ=")}))
    with pytest.raises(KeyringError, match="not valid base64"):
        crypto.load_keyring(settings.model_copy(update={"master_key": SecretStr("%%%")}))


def test_a_corrupt_keyring_file_is_reported(settings: Settings) -> None:
    path = crypto.keyring_path(settings)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(KeyringError, match="not a rensei keyring"):
        crypto.load_keyring(settings)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("inc_0123456789abcdef", "inc_...cdef"),
        ("lin_api_0123456789wxyz", "lin_...wxyz"),
        ("xoxb-1234-5678-abcdefgh", "xoxb-...efgh"),
        ("whsec_c2VjcmV0c2VjcmV0", "whsec_...cmV0"),
        ("inc_abc", "inc_..."),
        ("", "..."),
    ],
)
def test_mask(value: str, masked: str) -> None:
    assert mask(value) == masked
