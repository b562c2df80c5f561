"""Admin authentication: a bearer token, or a signed HTTP-only session cookie from ``/login``."""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import HTTPException, Request, status

SESSION_COOKIE = "rensei_session"
SESSION_SECONDS = 12 * 3600
UNAUTHORIZED = (
    "admin authentication required: send 'Authorization: Bearer <admin token>' or log in at /login"
)


class AdminAuth:
    """Checks the admin token and issues sessions; every comparison is constant-time."""

    def __init__(self, token: str, *, secure_cookie: bool = False) -> None:
        self._token = token.encode()
        # Sessions are signed with a key derived from the token: changing the token ends them.
        self._session_key = hashlib.sha256(b"rensei-session|" + self._token).digest()
        self.secure_cookie = secure_cookie

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    def issue_session(self, *, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
        return f"{expires}.{self._sign(expires)}"

    def session_valid(self, cookie: str, *, now: float | None = None) -> bool:
        expires_text, _, signature = cookie.partition(".")
        if not expires_text.isdigit() or not signature:
            return False
        if not hmac.compare_digest(signature.encode(), self._sign(int(expires_text)).encode()):
            return False
        return int(expires_text) > (now if now is not None else time.time())

    def is_admin(self, request: Request) -> bool:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credential and self.token_matches(credential.strip()):
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and self.session_valid(cookie)

    def _sign(self, expires: int) -> str:
        return hmac.new(self._session_key, f"v1|{expires}".encode(), hashlib.sha256).hexdigest()


def admin_auth(request: Request) -> AdminAuth:
    auth: AdminAuth = request.app.state.admin_auth
    return auth


async def require_admin(request: Request) -> None:
    """FastAPI dependency of every admin route: 401 unless the caller is the admin."""
    if not admin_auth(request).is_admin(request):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
