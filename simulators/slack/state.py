"""In-process state of the Slack simulator: seeded workspace, posted messages, limits, faults."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Public sandbox credentials, valid only against this simulator.
SANDBOX_BOT_TOKEN = "xoxb-1000000001-2000000002-rEnSeIsAnDbOxBoTtOkEn01"  # noqa: S105
SANDBOX_SIGNING_SECRET = "8f742231b10e8888abcd99rensei0001"  # noqa: S105

TEAM_ID = "T01RENSEI"
TEAM_DOMAIN = "rensei-sandbox"
BOT_USER_ID = "U01RENSEIBOT"
BOT_ID = "B01RENSEI"
APP_ID = "A01RENSEI"

INCIDENTS = "C01INCIDENTS"
EXEC = "C01EXEC"
PAYMENTS_ONCALL = "C01PAYONCALL"
PLATFORM = "C01PLATFORM"
GENERAL = "C01GENERAL"
OLD_INCIDENTS = "C01OLDINC"

# The scopes a fully installed rensei app holds (README, "Connecting Slack and Linear"), plus
# reactions:write for the simulator's own reactions.add. Slack answers Web
# API calls made with a valid token with its granted scopes, comma-separated, in the
# ``x-oauth-scopes`` response header (and the method's own in ``x-accepted-oauth-scopes``);
# this is how a client learns them from auth.test, which itself needs no scope.
SANDBOX_SCOPES: tuple[str, ...] = (
    "channels:history",
    "channels:read",
    "chat:write",
    "groups:history",
    "groups:read",
    "reactions:write",
    "usergroups:read",
)


@dataclass
class Channel:
    """A conversation; ``is_member`` says whether the bot has joined it."""

    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_member: bool = True
    is_general: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "is_member": self.is_member,
            "created": 1700000000,
        }


@dataclass
class User:
    id: str
    name: str
    real_name: str


@dataclass
class UserGroup:
    id: str
    handle: str
    name: str
    users: list[str]


@dataclass
class Message:
    """A posted message; ``updates`` keeps each previous version, oldest first."""

    channel: str
    ts: str
    text: str
    blocks: list[Any] | None = None
    thread_ts: str | None = None
    user: str = BOT_USER_ID
    bot_id: str | None = BOT_ID
    reply_broadcast: bool = False
    metadata: dict[str, Any] | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self, *, include_metadata: bool = False) -> dict[str, Any]:
        """The message object as Slack returns it (the official chat.postMessage example).

        ``metadata`` is only returned when asked for (``include_all_metadata=true``).
        """
        body: dict[str, Any] = {"type": "message", "text": self.text, "user": self.user}
        if self.bot_id is not None:
            body |= {"subtype": "bot_message", "bot_id": self.bot_id, "app_id": APP_ID}
            body |= {"username": "rensei", "team": TEAM_ID}
        body["ts"] = self.ts
        if self.blocks is not None:
            body["blocks"] = self.blocks
        if self.thread_ts is not None:
            body["thread_ts"] = self.thread_ts
        if self.updates:
            body["edited"] = {"user": self.user, "ts": self.updates[-1]["edited_ts"]}
        if self.reactions:
            body["reactions"] = [
                {"name": name, "users": users, "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if include_metadata and self.metadata is not None:
            body["metadata"] = self.metadata
        return body

    def to_record(self) -> dict[str, Any]:
        """The message plus simulator bookkeeping, as served by ``GET /_sim/messages``."""
        record = self.to_json(include_metadata=True)
        return record | {"channel": self.channel, "updates": self.updates}


@dataclass
class RateLimit:
    """Per-channel chat.postMessage limit: a bucket of ``burst`` refilled at ``per_second``."""

    per_second: float = 1.0
    burst: int = 20
    enabled: bool = True


@dataclass
class Faults:
    """Injected failures, consumed call by call; ``method`` restricts them to one API method.

    ``fail_after_post`` answers that many chat.postMessage calls with HTTP 500 *after*
    the message was stored: the ambiguous failure an exactly-once client must survive.
    """

    ratelimited: int = 0
    retry_after: int = 1
    error: str | None = None
    error_count: int = 0
    error_status: int = 200
    latency: float = 0.0
    method: str | None = None
    fail_after_post: int = 0

    def applies_to(self, method: str) -> bool:
        return self.method is None or self.method == method


class _Bucket:
    def __init__(self, limit: RateLimit, now: float) -> None:
        self.tokens = float(limit.burst)
        self.stamp = now

    def take(self, limit: RateLimit, now: float) -> int:
        """Takes one token; returns 0, or the whole seconds to wait before retrying."""
        self.tokens = min(float(limit.burst), self.tokens + (now - self.stamp) * limit.per_second)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self.tokens) / limit.per_second))


class SlackState:
    """The simulated workspace. Tests read ``messages`` and set ``rate_limit``/``faults``."""

    def __init__(
        self,
        *,
        bot_token: str = SANDBOX_BOT_TOKEN,
        signing_secret: str = SANDBOX_SIGNING_SECRET,
        rate_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_token = bot_token
        # token -> its granted scopes; tests add tokens with fewer scopes with ``add_token``.
        self.tokens: dict[str, tuple[str, ...]] = {bot_token: SANDBOX_SCOPES}
        self.signing_secret = signing_secret
        self.rate_limit = rate_limit or RateLimit()
        self.faults = Faults()
        self.clock = clock
        self.channels: dict[str, Channel] = {c.id: c for c in _seed_channels()}
        self.users: dict[str, User] = {u.id: u for u in _seed_users()}
        self.usergroups: dict[str, UserGroup] = {
            "S01SRELEADS": UserGroup(
                "S01SRELEADS", "sre-leads", "SRE leads", ["U01ALICE", "U01BOB"]
            )
        }
        self.messages: list[Message] = []
        self.responses: list[dict[str, Any]] = []
        self._last_ts: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}

    def add_token(self, token: str, scopes: tuple[str, ...] | list[str]) -> None:
        """Installs another bot token holding exactly ``scopes``."""
        self.tokens[token] = tuple(scopes)

    def find_channel(self, ref: str, *, by_name: bool = True) -> Channel | None:
        """Looks a channel up by ID, or (when ``by_name``) by ``#name`` or ``name``."""
        if ref in self.channels:
            return self.channels[ref]
        if not by_name:
            return None
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name), None)

    def find_message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def channel_messages(self, channel: str) -> list[Message]:
        """Messages of one channel (ID or name), in posting order."""
        found = self.find_channel(channel)
        return [m for m in self.messages if found is not None and m.channel == found.id]

    def usergroup(self, handle: str) -> UserGroup | None:
        """Looks a user group up by handle, with or without the leading ``@``."""
        wanted = handle.removeprefix("@")
        return next((g for g in self.usergroups.values() if g.handle == wanted), None)

    def next_ts(self, channel: str) -> str:
        """A ``"<unix>.<6 digits>"`` timestamp, strictly increasing within ``channel``."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts.get(channel, 0) + 1)
        self._last_ts[channel] = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def take_post_token(self, channel: str) -> int:
        """Applies the posting limit; returns 0 or the ``Retry-After`` seconds."""
        if not self.rate_limit.enabled:
            return 0
        now = time.monotonic()
        bucket = self._buckets.setdefault(channel, _Bucket(self.rate_limit, now))
        return bucket.take(self.rate_limit, now)

    def add_user_message(self, channel: str, text: str, *, user: str = "U01ALICE") -> Message:
        """Posts a message as a human, e.g. to test ``cant_update_message``."""
        found = self.find_channel(channel)
        if found is None:
            raise KeyError(f"no channel {channel!r} in the simulated workspace")
        message = Message(found.id, self.next_ts(found.id), text, user=user, bot_id=None)
        self.messages.append(message)
        return message

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults

    def clear_faults(self) -> None:
        self.faults = Faults()

    def reset(self) -> None:
        """Forgets messages, responses, faults and rate-limit buckets; keeps the seed."""
        self.messages.clear()
        self.responses.clear()
        self._buckets.clear()
        self.clear_faults()


def _seed_channels() -> list[Channel]:
    return [
        Channel(INCIDENTS, "incidents"),
        Channel(EXEC, "exec", is_private=True),
        Channel(PAYMENTS_ONCALL, "payments-oncall"),
        Channel(PLATFORM, "platform", is_member=False),
        Channel(GENERAL, "general", is_general=True),
        Channel(OLD_INCIDENTS, "old-incidents", is_archived=True),
    ]


def _seed_users() -> list[User]:
    return [
        User(BOT_USER_ID, "rensei", "Rensei"),
        User("U01ALICE", "alice", "Alice Adams"),
        User("U01BOB", "bob", "Bob Brown"),
        User("U01CAROL", "carol", "Carol Chen"),
        User("U01DAVE", "dave", "Dave Diaz"),
    ]
