"""Credential look-up by workspace: activities call this, workflows never see a secret."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from settings import Settings


class CredentialProvider(Protocol):
    """Anything that can find a workspace's credential (the store, the environment)."""

    async def get(self, workspace: str, integration: str, name: str) -> str | None:
        """Returns the secret, or None when this provider has none."""
        ...


class MissingCredentialError(LookupError):
    """No provider knows the credential; the message says where to set it."""

    def __init__(self, workspace: str, integration: str, name: str) -> None:
        self.workspace, self.integration, self.name = workspace, integration, name
        super().__init__(
            f"no {integration} {name.replace('_', ' ')} for workspace '{workspace}': connect "
            f"{integration} in Settings -> Integrations"
        )


@dataclass
class StaticCredentials:
    """Fixed credentials, keyed by (workspace, integration, name)."""

    values: dict[tuple[str, str, str], str] = field(default_factory=dict)

    async def get(self, workspace: str, integration: str, name: str) -> str | None:
        return self.values.get((workspace, integration, name))


def from_settings(settings: Settings, *, workspace: str = "default") -> StaticCredentials:
    """The ``RENSEI_*`` secrets, for the default workspace."""
    pairs = {
        ("incident_io", "token"): settings.incident_io_token,
        ("incident_io", "webhook_secret"): settings.incident_io_webhook_secret,
        ("slack", "bot_token"): settings.slack_bot_token,
        ("slack", "signing_secret"): settings.slack_signing_secret,
        ("linear", "api_key"): settings.linear_api_key,
    }
    return StaticCredentials(
        {(workspace, i, n): v.get_secret_value() for (i, n), v in pairs.items() if v is not None}
    )


@dataclass
class ChainedCredentials:
    """Asks each provider in turn (for example the store, then the environment)."""

    providers: Sequence[CredentialProvider]

    async def get(self, workspace: str, integration: str, name: str) -> str | None:
        for provider in self.providers:
            value = await provider.get(workspace, integration, name)
            if value:
                return value
        return None

    async def require(self, workspace: str, integration: str, name: str) -> str:
        """Like ``get``, but raises ``MissingCredentialError`` when nobody has it."""
        value = await self.get(workspace, integration, name)
        if value is None:
            raise MissingCredentialError(workspace, integration, name)
        return value


C = TypeVar("C")


class ClientCache(Generic[C]):
    """One provider client per workspace, rebuilt when the workspace's credential changes
    (so a client's own caches survive between activities)."""

    def __init__(
        self,
        credentials: ChainedCredentials,
        integration: str,
        name: str,
        build: Callable[[str], C],
    ) -> None:
        self._credentials = credentials
        self._integration, self._name = integration, name
        self._build = build
        self._clients: dict[str, tuple[str, C]] = {}

    async def get(self, workspace: str) -> C:
        secret = await self._credentials.require(workspace, self._integration, self._name)
        cached = self._clients.get(workspace)
        if cached is None or cached[0] != secret:
            cached = (secret, self._build(secret))
            self._clients[workspace] = cached
        return cached[1]
