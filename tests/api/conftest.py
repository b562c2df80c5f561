"""API fixtures: a fake provider over real HTTP, a SQLite store, the app behind httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from settings import Settings
from simulators.server import serve
from store import Store
from tests.api.fakes import provider_app
from tests.apps import AppTransport

ADMIN = "test-admin-token-0123456789"


@pytest_asyncio.fixture(scope="session")
async def provider_url() -> AsyncIterator[str]:
    async with serve(provider_app()) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, provider_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        admin_token=SecretStr(ADMIN),
        incident_io_base_url=provider_url,
        slack_base_url=provider_url,
        linear_base_url=provider_url,
        public_url="https://rensei.example.com",
    )


@pytest_asyncio.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    s = Store.from_settings(settings)
    await s.migrate()
    yield s
    await s.close()


class Hooks:
    def __init__(self) -> None:
        self.connected: list[str] = []
        self.disconnected: list[str] = []

    async def on_connect(self, workspace: str) -> dict[str, Any]:
        self.connected.append(workspace)
        return {"status": "started"}

    async def on_disconnect(self, workspace: str) -> None:
        self.disconnected.append(workspace)


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def app(settings: Settings, store: Store, http: httpx.AsyncClient, hooks: Hooks) -> FastAPI:
    return create_app(
        settings,
        store=store,
        http_client=http,
        on_connect=hooks.on_connect,
        on_disconnect=hooks.on_disconnect,
    )


@pytest_asyncio.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = AppTransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://rensei.test") as client:
        yield client


@pytest_asyncio.fixture
async def admin(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = AppTransport(app=app)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://rensei.test", headers=headers
    ) as client:
        yield client
