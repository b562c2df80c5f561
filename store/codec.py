"""AES-GCM payload codec for Temporal, and the data converter that uses it when enabled."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from settings import Settings
from store import crypto

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_INFO = b"rensei temporal payload codec v1"


class PayloadDecryptError(ValueError):
    """A payload is encrypted under an unknown key, or does not authenticate."""


def payload_key(master: bytes) -> bytes:
    """A key for payloads only, derived from a master key (credentials keep their own)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master)


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload as a whole protobuf, like Temporal's encryption sample.

    The metadata keeps ``encoding: binary/encrypted`` and the id of the master key, so old
    histories stay readable after a rotation as long as the keyring keeps the old key.
    """

    def __init__(self, keyring: crypto.Keyring) -> None:
        self._current = keyring.current
        self._keys = {key_id: AESGCM(payload_key(key)) for key_id, key in keyring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        aead = self._keys[self._current]
        out = []
        for payload in payloads:
            nonce = os.urandom(crypto.NONCE_BYTES)
            data = nonce + aead.encrypt(nonce, payload.SerializeToString(), None)
            out.append(
                Payload(metadata={"encoding": ENCODING, KEY_ID: self._current.encode()}, data=data)
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                out.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
            aead = self._keys.get(key_id)
            if aead is None:
                raise PayloadDecryptError(f"payload encrypted under unknown key {key_id!r}")
            nonce, ciphertext = (
                payload.data[: crypto.NONCE_BYTES],
                payload.data[crypto.NONCE_BYTES :],
            )
            try:
                out.append(Payload.FromString(aead.decrypt(nonce, ciphertext, None)))
            except InvalidTag:
                raise PayloadDecryptError(
                    f"payload under key {key_id!r} does not decrypt: wrong key or tampered data"
                ) from None
        return out


def data_converter(settings: Settings, *, keyring: crypto.Keyring | None = None) -> DataConverter:
    """rensei's converter: pydantic JSON, plus the AES-GCM codec when ``encrypt_payloads`` is on."""
    if not settings.encrypt_payloads:
        return pydantic_data_converter
    codec = EncryptionCodec(keyring or crypto.load_keyring(settings))
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)
