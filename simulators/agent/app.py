"""Starlette app serving the simulated A2A agent: card, JSON-RPC (v1.0 + v0.3), push."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import uvicorn
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import (
    BasePushNotificationSender,
    InMemoryPushNotificationConfigStore,
    InMemoryTaskStore,
)
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette

from simulators.agent.executor import AgentConfig, AgentRecord, IncidentResponderExecutor


def build_card(config: AgentConfig) -> AgentCard:
    """The v1.0 agent card: one JSON-RPC interface at ``public_url + rpc_path``."""
    skill = AgentSkill(
        id="mitigate-incident",
        name="Mitigate incident",
        description="Investigates an incident and applies a standard mitigation.",
        tags=["incident", "sre"],
        examples=['{"incident_id": "INC-12", "title": "Payments 5xx", "severity": "SEV-1"}'],
        input_modes=["application/json", "text/plain"],
        output_modes=["text/plain", "application/json"],
    )
    return AgentCard(
        name=config.name,
        description="Simulated incident responder for rensei's sandbox and tests.",
        supported_interfaces=[
            AgentInterface(
                url=config.public_url.rstrip("/") + config.rpc_path,
                protocol_binding="JSONRPC",
                protocol_version="1.0",
            )
        ],
        version="1.0.0",
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=config.push_notifications
        ),
        default_input_modes=["application/json", "text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[skill],
    )


def create_app(
    config: AgentConfig | None = None, *, record: AgentRecord | None = None
) -> Starlette:
    """Builds the agent app; ``record`` (or ``app.state.record``) shows what it was asked."""
    cfg = config or AgentConfig()
    seen = record or AgentRecord()
    card = build_card(cfg)
    push_client = httpx.AsyncClient(timeout=10.0)
    push_store = InMemoryPushNotificationConfigStore() if cfg.push_notifications else None
    handler = DefaultRequestHandler(
        agent_executor=IncidentResponderExecutor(cfg, seen),
        task_store=InMemoryTaskStore(),
        agent_card=card,
        push_config_store=push_store,
        push_sender=BasePushNotificationSender(push_client, push_store) if push_store else None,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with push_client:
            yield

    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url=cfg.rpc_path, enable_v0_3_compat=True),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.record = seen
    app.state.config = cfg
    return app


def run_agent(port: int, host: str = "127.0.0.1", *, config: AgentConfig | None = None) -> None:
    """Serves the agent with uvicorn until interrupted; the card advertises ``host:port``."""
    cfg = config or AgentConfig(public_url=f"http://{host}:{port}")
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="info")
