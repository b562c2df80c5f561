"""rensei's configuration: one pydantic-settings class, read from ``RENSEI_*`` variables.

Build it at an entry point (``Settings()``) and pass it down; nothing reads the
environment at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.ids import DEFAULT_INCIDENT_IO_TASK_QUEUE

SANDBOX_TOKEN = "inc_5fd0c1fb759c29b649288a77deadd7808c0d11057a4811cc4d70f17517a1660d"  # noqa: S105
"""Full-access API key of the sandbox's simulated incident.io workspace (not a secret): the
simulator seeds it and the worker uses it when ``sandbox_incident_io_url`` is set."""


class Settings(BaseSettings):
    """Every setting, with the default that ``make run`` uses."""

    model_config = SettingsConfigDict(env_prefix="RENSEI_", extra="ignore")

    data_dir: Path = Field(default=Path(".data"), description="state of the local stack")
    temporal_address: str | None = Field(
        default=None,
        description="an existing Temporal frontend (host:port); unset starts a dev server",
    )
    temporal_namespace: str = Field(
        default="default", description="Temporal namespace of every workflow"
    )
    temporal_tls: bool = Field(
        default=False,
        description="TLS to the Temporal frontend with the system's CA roots (implied by the "
        "other temporal_tls_* settings and by temporal_api_key)",
    )
    temporal_tls_ca: Path | None = Field(
        default=None, description="PEM file of the CA that signed the frontend's certificate"
    )
    temporal_tls_cert: Path | None = Field(
        default=None, description="PEM file of the client certificate (mTLS; with temporal_tls_key)"
    )
    temporal_tls_key: Path | None = Field(
        default=None, description="PEM file of the client certificate's private key"
    )
    temporal_tls_server_name: str | None = Field(
        default=None, description="name to verify the frontend's certificate against (SNI)"
    )
    temporal_api_key: SecretStr | None = Field(
        default=None, description="Temporal Cloud API key (sent as a bearer token over TLS)"
    )
    reconnect_max_interval: float = Field(
        default=10.0,
        gt=0,
        description="longest wait, seconds, between two tries to reach Temporal or the "
        "database while a process waits for them (the waits start at 0.5s and double)",
    )
    temporal_port: int = Field(default=7233, description="port of the embedded dev server")
    temporal_ui_port: int = Field(default=8233, description="port of the embedded Temporal UI")
    task_queue: str = Field(
        default="rensei", description="task queue of workflows and default activities"
    )
    workers: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 1) // 2),
        ge=1,
        description="worker processes make run starts (default: half the CPU cores, at least 1)",
    )
    worker_max_cached_workflows: int = Field(
        default=250,
        ge=1,
        description="runs a worker process keeps in memory (sticky cache); a waiting run "
        "beyond it is evicted and replayed from its history when it wakes up",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text lines, or one JSON object per line with run ids"
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="address of the worker's Prometheus endpoint"
    )
    worker_metrics_port: int = Field(
        default=9464,
        ge=0,
        description="port of the worker's Prometheus endpoint (/metrics); 0 turns it off; "
        "with RENSEI_WORKERS=N, make run gives the workers this port and the N-1 after it",
    )
    worker_health_port: int | None = Field(
        default=None,
        description="port on 127.0.0.1 where the worker answers /healthz and /readyz; "
        "unset: the worker opens no port",
    )
    definitions_dir: Path = Field(
        default=Path("workflows.d"), description="definition files loaded at start"
    )
    incident_io_token: SecretStr | None = None
    incident_io_base_url: str = "https://api.incident.io"
    incident_io_webhook_secret: SecretStr | None = None
    sync_interval: float = Field(
        default=30.0, gt=0, description="seconds between incident.io polls"
    )
    incident_io_task_queue: str = Field(
        default=DEFAULT_INCIDENT_IO_TASK_QUEUE,
        description="task queue of the incident.io activities (one server-side rate limit)",
    )
    incident_io_requests_per_minute: int = Field(
        default=1200,
        gt=0,
        description="incident.io's rate limit per API key and minute (1,200 documented)",
    )
    incident_io_rate_headroom: float = Field(
        default=0.1,
        ge=0.0,
        lt=1.0,
        description="share of the rate limit kept back: the call budget is the limit less "
        "this share, for other users of the same key, clock skew and catalogue refreshes",
    )
    incident_io_max_inline_wait: float = Field(
        default=30.0, ge=0.0, description="longest Retry-After waited out inside one attempt"
    )
    incident_io_timeout: float = Field(default=10.0, gt=0, description="HTTP timeout, seconds")
    incident_io_catalogue_ttl: float = Field(
        default=60.0, ge=0.0, description="how long severities and statuses are cached, seconds"
    )
    # --- providers (defaults for the default workspace until the settings page stores them)
    slack_base_url: str = "https://slack.com"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    linear_base_url: str = "https://api.linear.app"
    linear_api_key: SecretStr | None = None
    # --- store and integrations (issue 5)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; unset uses SQLite in data_dir/rensei.db",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="base64 of 32 bytes; unset uses the keyring file data_dir/master.key",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="bearer token of the admin API and page; unset generates data_dir/admin.token",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="where incident.io reaches the API"
    )
    encrypt_payloads: bool = Field(
        default=False, description="AES-GCM codec on every Temporal payload"
    )
    agents: dict[str, str] = Field(
        default_factory=dict, description="agent card name -> base URL (JSON in RENSEI_AGENTS)"
    )

    # --- sandbox mode of ``make run`` (issue 5.7)
    sandbox: bool | None = Field(
        default=None,
        description="make run's sandbox mode: unset starts the simulators when incident.io "
        "is not connected; true/false forces it",
    )
    sandbox_port: int = Field(
        default=8090,
        description="first of four ports of the sandbox simulators "
        "(incident.io, Slack, Linear, the A2A agent)",
    )
    sandbox_channels: list[str] = Field(
        default_factory=list,
        description="more Slack channels for the sandbox workspace (JSON list of names)",
    )
    sandbox_teams: list[str] = Field(
        default_factory=list,
        description="more incident.io teams (Team field options) for the sandbox workspace "
        "(JSON list of names)",
    )
    sandbox_incident_io_url: str | None = Field(
        default=None,
        description="set by make run in sandbox mode: where calls made with the simulator's "
        "sandbox token go",
    )

    @property
    def address(self) -> str:
        """The Temporal frontend everything connects to."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def incident_io_call_budget_per_minute(self) -> float:
        """incident.io calls each process may make per workspace and minute: the limit less
        the headroom (1,080 by default)."""
        return self.incident_io_requests_per_minute * (1 - self.incident_io_rate_headroom)

    @property
    def incident_io_activities_per_second(self) -> float:
        """The incident.io task queue's server-side rate: the call budget, per second."""
        return self.incident_io_call_budget_per_minute / 60

    @property
    def embedded_temporal(self) -> bool:
        """True when ``make run`` starts its own dev server."""
        return self.temporal_address is None
