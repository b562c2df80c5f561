"""The AES-GCM payload codec and the data converter built from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from settings import Settings
from store import crypto
from store.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadDecryptError, data_converter

pytestmark = pytest.mark.asyncio


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", encrypt_payloads=True)


async def test_round_trip(settings: Settings) -> None:
    codec = EncryptionCodec(crypto.load_keyring(settings))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"title": "checkout down"}')
    [encoded] = await codec.encode([plain])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata[KEY_ID] == crypto.load_keyring(settings).current.encode()
    assert b"checkout" not in encoded.data
    assert await codec.decode([encoded]) == [plain]
    untouched = Payload(metadata={"encoding": b"json/plain"}, data=b"1")
    assert await codec.decode([untouched]) == [untouched]


async def test_tampered_or_unknown_key(settings: Settings, tmp_path: Path) -> None:
    codec = EncryptionCodec(crypto.load_keyring(settings))
    [encoded] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    tampered = Payload()
    tampered.CopyFrom(encoded)
    tampered.data = encoded.data[:-1] + bytes([encoded.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptError, match="wrong key or tampered data"):
        await codec.decode([tampered])
    other = EncryptionCodec(crypto.load_keyring(Settings(data_dir=tmp_path / "other")))
    with pytest.raises(PayloadDecryptError, match="unknown key"):
        await other.decode([encoded])


async def test_old_payloads_stay_readable_after_rotation(settings: Settings) -> None:
    keyring = crypto.load_keyring(settings)
    [old] = await EncryptionCodec(keyring).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b"7")]
    )
    rotated = EncryptionCodec(crypto.add_new_key(keyring))
    [decoded] = await rotated.decode([old])
    assert decoded.data == b"7"


async def test_data_converter(settings: Settings) -> None:
    assert (
        data_converter(settings.model_copy(update={"encrypt_payloads": False}))
        is pydantic_data_converter
    )
    converter = data_converter(settings)
    assert isinstance(converter.payload_codec, EncryptionCodec)
    [payload] = await converter.encode([{"incident_id": "01H", "severity": "SEV-1"}])
    assert payload.metadata["encoding"] == ENCODING and b"SEV-1" not in payload.data
    assert await converter.decode([payload], [dict]) == [
        {"incident_id": "01H", "severity": "SEV-1"}
    ]
