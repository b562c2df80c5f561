"""Credentials at rest: an AES-GCM keyring, record encryption bound to its row, masking."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
KEYRING_FILE = "master.key"


class CryptoError(Exception):
    """Base of the errors of credential encryption."""


class KeyringError(CryptoError):
    """The master key or the keyring file is missing, malformed or cannot be changed."""


class CredentialDecryptError(CryptoError):
    """A stored credential does not decrypt: wrong master key, or the row was tampered with."""

    def __init__(self, *, workspace: str, integration: str, field: str) -> None:
        self.workspace = workspace
        self.integration = integration
        self.field = field
        super().__init__(
            f"credential {integration}.{field} of workspace {workspace} cannot be decrypted: "
            "wrong master key or tampered data"
        )


@dataclass(frozen=True)
class Sealed:
    """One encrypted value as stored: the key it was sealed with, its nonce and ciphertext."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


@dataclass
class Keyring:
    """Master keys by id; ``current`` seals new records, every key opens old ones.

    ``path`` is the keyring file the keys came from, or None when the current key was
    given in ``RENSEI_MASTER_KEY`` (which rotation cannot rewrite).
    """

    keys: dict[str, bytes]
    current: str
    path: Path | None = None
    from_environment: bool = field(default=False)

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current]


def associated_data(workspace: str, integration: str, field: str) -> bytes:
    """Binds a ciphertext to its row, so that a value moved to another row fails to open."""
    return f"{workspace}|{integration}|{field}".encode()


def seal(keyring: Keyring, value: str, *, workspace: str, integration: str, field: str) -> Sealed:
    """Encrypts ``value`` under the current key with a fresh 96-bit nonce."""
    nonce = os.urandom(NONCE_BYTES)
    aad = associated_data(workspace, integration, field)
    ciphertext = AESGCM(keyring.current_key).encrypt(nonce, value.encode(), aad)
    return Sealed(key_id=keyring.current, nonce=nonce, ciphertext=ciphertext)


def open_sealed(
    keyring: Keyring, sealed: Sealed, *, workspace: str, integration: str, field: str
) -> str:
    """Decrypts a stored value; raises CredentialDecryptError instead of returning garbage."""
    error = CredentialDecryptError(workspace=workspace, integration=integration, field=field)
    key = keyring.key(sealed.key_id)
    if key is None or len(sealed.nonce) != NONCE_BYTES:
        raise error
    try:
        plain = AESGCM(key).decrypt(
            sealed.nonce, sealed.ciphertext, associated_data(workspace, integration, field)
        )
        return plain.decode()
    except (InvalidTag, UnicodeDecodeError):
        raise error from None


def key_id_of(key: bytes) -> str:
    """A stable, non-secret id for a key given in the environment."""
    return "env-" + hashlib.sha256(b"rensei-key-id|" + key).hexdigest()[:12]


def decode_key(text: str, *, source: str) -> bytes:
    """Decodes a base64 master key and checks its length."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{source} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"{source} must hold {KEY_BYTES} bytes (base64), not {len(key)}")
    return key


def keyring_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / KEYRING_FILE


def load_keyring(settings: Settings, *, create: bool = True) -> Keyring:
    """The keyring of ``settings``: the file's keys, plus ``RENSEI_MASTER_KEY`` as current when set.

    Without a master key in the environment the keyring file is created (mode 0600)
    with one fresh key on first use.
    """
    path = keyring_path(settings)
    keys: dict[str, bytes] = {}
    current: str | None = None
    if path.exists():
        keys, current = _read_keyring_file(path)
    if settings.master_key is not None:
        key = decode_key(settings.master_key.get_secret_value(), source="RENSEI_MASTER_KEY")
        key_id = key_id_of(key)
        keys[key_id] = key
        return Keyring(
            keys=keys, current=key_id, path=path if path.exists() else None, from_environment=True
        )
    if current is None:
        if not create:
            raise KeyringError(f"no master key: set RENSEI_MASTER_KEY or create {path}")
        current = _new_key_id()
        keys = {current: AESGCM.generate_key(bit_length=256)}
        _write_keyring_file(path, keys, current, exclusive=True)
    return Keyring(keys=keys, current=current, path=path)


def add_new_key(keyring: Keyring) -> Keyring:
    """Writes a fresh key into the keyring file and makes it current; old keys stay for reading."""
    if keyring.from_environment:
        raise KeyringError(
            "the current master key comes from RENSEI_MASTER_KEY, which rensei cannot rewrite: "
            "unset it to use the keyring file, or rotate by changing the variable yourself"
        )
    if keyring.path is None:
        raise KeyringError("this keyring has no file to write a new key into")
    new_id = _new_key_id()
    keys = dict(keyring.keys) | {new_id: AESGCM.generate_key(bit_length=256)}
    _write_keyring_file(keyring.path, keys, new_id, exclusive=False)
    return Keyring(keys=keys, current=new_id, path=keyring.path)


def _new_key_id() -> str:
    return "k-" + secrets.token_hex(6)


def _read_keyring_file(path: Path) -> tuple[dict[str, bytes], str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        current = document["current"]
        raw = document["keys"]
        if not isinstance(current, str) or not isinstance(raw, dict):
            raise TypeError("bad types")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"{path}: not a rensei keyring ({exc})") from None
    keys = {str(k): decode_key(str(v), source=f"{path} key {k!r}") for k, v in raw.items()}
    if current not in keys:
        raise KeyringError(f"{path}: the current key {current!r} is not in the file")
    return keys, current


def _write_keyring_file(
    path: Path, keys: dict[str, bytes], current: str, *, exclusive: bool
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "current": current,
        "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()},
    }
    data = (json.dumps(document, indent=2) + "\n").encode()
    if exclusive:
        target = path
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    else:
        target = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if target != path:
        os.replace(target, path)


def mask(value: str) -> str:
    """``inc_abcdef1234`` -> ``inc_...1234``: the prefix up to the first ``_`` and the last 4."""
    cut = value.find("_")
    if cut < 0:
        cut = value.find("-")
    prefix = value[: cut + 1] if 0 <= cut < 12 else ""
    rest = value[len(prefix) :]
    tail = rest[-4:] if len(rest) >= 8 else ""
    return f"{prefix}...{tail}"
