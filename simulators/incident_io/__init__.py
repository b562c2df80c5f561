"""A faithful local simulator of the incident.io public API and its webhooks."""

from simulators.incident_io.app import create_app
from simulators.incident_io.runner import run
from simulators.incident_io.seed import SANDBOX_TOKEN, VIEWER_TOKEN
from simulators.incident_io.state import SimulatorConfig, SimulatorState

__all__ = [
    "SANDBOX_TOKEN",
    "VIEWER_TOKEN",
    "SimulatorConfig",
    "SimulatorState",
    "create_app",
    "run",
]
