"""Slack Web API simulator: chat, reactions, conversations, signed button clicks."""

from simulators.slack.app import SlackApiError, create_app, run_slack
from simulators.slack.interaction import (
    build_interaction,
    click,
    encode_payload,
    sign,
    signed_headers,
)
from simulators.slack.state import (
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    Channel,
    Faults,
    Message,
    RateLimit,
    SlackState,
)

__all__ = [
    "SANDBOX_BOT_TOKEN",
    "SANDBOX_SIGNING_SECRET",
    "Channel",
    "Faults",
    "Message",
    "RateLimit",
    "SlackApiError",
    "SlackState",
    "build_interaction",
    "click",
    "create_app",
    "encode_payload",
    "run_slack",
    "sign",
    "signed_headers",
]
