"""The Slack Web API methods rensei calls: how each takes its arguments and which scopes it needs.

One table, read by the client (JSON or form encoding) and by the connect check (the scopes a
bot token must have). Sources, per method: the "Facts" box of
https://docs.slack.dev/reference/methods/<method> (content types, required scopes) and
``slack_sdk/web/client.py`` (``api_call(..., json=kwargs)`` versus ``params=kwargs``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlackMethod:
    """``json``: the method accepts an ``application/json`` body (so we send one there);
    ``scopes``: the bot scopes it needs."""

    json: bool
    scopes: tuple[str, ...] = ()


# Only write methods accept JSON (https://docs.slack.dev/apis/web-api#posting_json; the pages
# of chat.postMessage and chat.update list "application/json" under content types). Read
# methods take query/form fields only; a JSON body there is ignored, so the call fails with a
# missing argument. slack_sdk sends the read methods as GET query fields.
METHODS: dict[str, SlackMethod] = {
    "auth.test": SlackMethod(json=False),
    "chat.postMessage": SlackMethod(json=True, scopes=("chat:write",)),
    "chat.update": SlackMethod(json=True, scopes=("chat:write",)),
    "chat.getPermalink": SlackMethod(json=False),
    # We list public and private channels: channels:read for the first, groups:read for the other.
    "conversations.list": SlackMethod(json=False, scopes=("channels:read", "groups:read")),
    # History of public channels needs channels:history, of private ones groups:history.
    "conversations.history": SlackMethod(json=False, scopes=("channels:history", "groups:history")),
    "conversations.replies": SlackMethod(json=False, scopes=("channels:history", "groups:history")),
    "usergroups.list": SlackMethod(json=False, scopes=("usergroups:read",)),
    "usergroups.users.list": SlackMethod(json=False, scopes=("usergroups:read",)),
}

# Every scope some node needs, in a stable order: what the app must be granted.
REQUIRED_SCOPES: tuple[str, ...] = tuple(
    sorted({scope for method in METHODS.values() for scope in method.scopes})
)
# Not required: lets rensei post in public channels it has not been invited to.
OPTIONAL_SCOPES: tuple[str, ...] = ("chat:write.public",)
