"""Local simulators of the services rensei talks to (incident.io, Slack, Linear, A2A agents)."""
