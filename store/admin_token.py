"""The admin token: from ``RENSEI_ADMIN_TOKEN``, or generated once into the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from settings import Settings

TOKEN_FILE = "admin.token"  # noqa: S105  (a file name, not a password)


def admin_token_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / TOKEN_FILE


def ensure_admin_token(settings: Settings) -> str:
    """The admin token; when unset, reads ``data_dir/admin.token``, creating it (0600) first.

    The supervisor calls this before starting the API, so that it can print the token
    and the API process reads the same file.
    """
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        return settings.admin_token.get_secret_value()
    path = admin_token_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        token = "rensei_" + secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        return token
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"{path} is empty: delete it to generate a new admin token")
    return token


def admin_token_source(settings: Settings) -> str:
    """Where the token comes from, for the supervisor's banner."""
    if settings.admin_token is not None and settings.admin_token.get_secret_value():
        return "RENSEI_ADMIN_TOKEN"
    return str(admin_token_path(settings).resolve())
