"""Master-key rotation: a new key in the keyring file, every credential re-encrypted under it."""

from __future__ import annotations

from dataclasses import dataclass

from settings import Settings
from store import crypto
from store.store import Store, create_engine, database_url


@dataclass(frozen=True)
class Rotation:
    """What ``rensei keys rotate`` did."""

    old_key_id: str
    new_key_id: str
    credentials: int


async def rotate_master_key(settings: Settings) -> Rotation:
    """Adds a fresh key to the keyring file, makes it current and re-encrypts every credential.

    The new key is written first (old keys stay in the file), so a failure part-way
    leaves every credential readable; the re-encryption itself is one transaction.
    """
    keyring = crypto.load_keyring(settings, create=False)
    store = Store(create_engine(database_url(settings)), keyring)
    try:
        await store.migrate()
        rotated = crypto.add_new_key(keyring)
        count = await store.reencrypt_credentials(rotated)
    finally:
        await store.close()
    return Rotation(old_key_id=keyring.current, new_key_id=rotated.current, credentials=count)
