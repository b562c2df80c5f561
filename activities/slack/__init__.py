"""Slack: a Web API client and the activities built on it."""

from activities.slack.activities import SlackActivities, approval_blocks, decision_text
from activities.slack.client import SlackClient
from contracts.slack import (
    ApprovalPostInput,
    ApprovalResolveInput,
    SlackPostInput,
    SlackPostOutput,
    UsergroupMembersInput,
    UsergroupMembersResult,
)

__all__ = [
    "ApprovalPostInput",
    "ApprovalResolveInput",
    "SlackActivities",
    "SlackClient",
    "SlackPostInput",
    "SlackPostOutput",
    "UsergroupMembersInput",
    "UsergroupMembersResult",
    "approval_blocks",
    "decision_text",
]
