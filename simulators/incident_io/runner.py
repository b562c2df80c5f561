"""Serve the simulator with uvicorn: the function behind `rensei simulate incident-io`."""

from __future__ import annotations

import logging

import uvicorn

from simulators.incident_io.app import create_app
from simulators.incident_io.state import SimulatorConfig

logger = logging.getLogger(__name__)


def run(
    port: int,
    *,
    host: str = "127.0.0.1",
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    config: SimulatorConfig | None = None,
) -> None:
    """Serves the incident.io simulator until interrupted (blocks).

    Args:
        port: TCP port to listen on.
        host: interface to bind; loopback unless you mean to expose it.
        webhook_url: where to deliver incident webhooks, if anywhere.
        webhook_secret: the `whsec_<base64>` secret to sign them with.
        config: other knobs; `webhook_url`/`webhook_secret` override its webhook fields.
    """
    cfg = config or SimulatorConfig()
    if webhook_url is not None:
        cfg.webhook_url = webhook_url
    if webhook_secret is not None:
        cfg.webhook_secret = webhook_secret
    if cfg.webhook_url and not cfg.webhook_secret:
        raise ValueError("webhook_url needs webhook_secret (a whsec_<base64> signing secret)")
    logger.info("incident.io simulator on http://%s:%d (webhooks: %s)", host, port, cfg.webhook_url)
    uvicorn.run(create_app(config=cfg), host=host, port=port, log_level="info")
