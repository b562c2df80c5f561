"""The workspace store: SQLAlchemy tables, Alembic migrations and credentials encrypted at rest."""

from store.crypto import CredentialDecryptError, KeyringError, mask
from store.store import (
    DEFAULT_WORKSPACE,
    AgentCard,
    Definition,
    Integration,
    InvalidNameError,
    Store,
    StoreError,
    Workspace,
    check_definition_name,
)

__all__ = [
    "DEFAULT_WORKSPACE",
    "AgentCard",
    "CredentialDecryptError",
    "Definition",
    "Integration",
    "InvalidNameError",
    "KeyringError",
    "Store",
    "StoreError",
    "Workspace",
    "check_definition_name",
    "mask",
]
