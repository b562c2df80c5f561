"""The workspace store: SQLAlchemy tables, Alembic migrations and credentials encrypted at rest."""

from store.crypto import CredentialDecryptError, KeyringError, mask
from store.store import (
    DEFAULT_WORKSPACE,
    AgentCard,
    Definition,
    DefinitionNameError,
    Integration,
    InvalidNameError,
    Store,
    StoreError,
    Workspace,
)

__all__ = [
    "DEFAULT_WORKSPACE",
    "AgentCard",
    "CredentialDecryptError",
    "Definition",
    "DefinitionNameError",
    "Integration",
    "InvalidNameError",
    "KeyringError",
    "Store",
    "StoreError",
    "Workspace",
    "mask",
]
