"""A2A ``incident-responder`` agent simulator built on the a2a-sdk server."""

from simulators.agent.app import build_card, create_app, run_agent
from simulators.agent.executor import (
    SIMULATE_FAIL,
    SIMULATE_HANG,
    AgentConfig,
    AgentRecord,
    IncidentResponderExecutor,
)

__all__ = [
    "SIMULATE_FAIL",
    "SIMULATE_HANG",
    "AgentConfig",
    "AgentRecord",
    "IncidentResponderExecutor",
    "build_card",
    "create_app",
    "run_agent",
]
