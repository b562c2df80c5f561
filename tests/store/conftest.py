"""Store fixtures: the same tests on SQLite and, when configured, on real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from settings import Settings
from store import Store
from store.crypto import load_keyring
from store.store import create_engine, database_url

PG_SKIP = "RENSEI_TEST_DATABASE_URL is not set: PostgreSQL store tests skipped"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Store]:
    """A migrated store on a fresh database: a SQLite file, or a unique PostgreSQL schema."""
    keyring = load_keyring(settings)
    if request.param == "sqlite":
        engine = create_engine(database_url(settings.model_copy(update={"database_url": None})))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        s = Store(engine, keyring)
        await s.migrate()
        yield s
        await s.close()
        return
    url = os.environ.get("RENSEI_TEST_DATABASE_URL")
    if not url:
        pytest.skip(PG_SKIP)
    url = database_url(settings.model_copy(update={"database_url": url}))
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    s = Store(create_engine(url, connect_args={"options": f"-csearch_path={schema}"}), keyring)
    try:
        await s.migrate()
        yield s
    finally:
        await s.close()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
