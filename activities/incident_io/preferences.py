"""A workspace's own incident.io settings: severity overrides and which field is the team."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkspacePreferences:
    """What the settings page stores for a workspace's incident.io.

    Attributes:
        severity_overrides: ``{severity name or id: "SEV-n"}`` pinned instead of by rank.
        team_field: the custom field (name or id) that holds the team, when several could.
    """

    severity_overrides: Mapping[str, str] = field(default_factory=dict)
    team_field: str | None = None


Preferences = Callable[[str], Awaitable[WorkspacePreferences]]
"""Looks a workspace's preferences up (the store in production)."""


async def no_preferences(workspace: str) -> WorkspacePreferences:
    """No overrides and no team field: severities by rank, the team field by its name."""
    return WorkspacePreferences()
