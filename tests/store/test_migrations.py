"""The migration history is one line: branches merged side by side must be chained."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from settings import Settings
from store.crypto import load_keyring
from store.store import MIGRATIONS, create_engine, database_url
from tests.store.conftest import PG_SKIP


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    heads = script.get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: chain one after the other"
    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"


MIGRATE = """
import asyncio, sys
from settings import Settings
from store import Store
from store.crypto import load_keyring
from store.store import create_engine
url, schema, data = sys.argv[1:]
engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
store = Store(engine, load_keyring(Settings(data_dir=data)))
async def main():
    print("ready", flush=True)
    sys.stdin.readline()  # all four start migrating together
    try:
        await store.migrate()
    finally:
        await store.close()
asyncio.run(main())
"""


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_processes_starting_together_migrate_a_fresh_database_once(
    settings: Settings,
) -> None:
    """Replicas of the API and the worker all migrate at start (each its own process); on a
    fresh PostgreSQL database they must not race each other into duplicate tables."""
    url = os.environ.get("RENSEI_TEST_DATABASE_URL")
    if not url:
        pytest.skip(PG_SKIP)
    url = database_url(settings.model_copy(update={"database_url": url}))
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    load_keyring(settings)  # one master key for all four
    try:
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                MIGRATE,
                url,
                schema,
                str(settings.data_dir),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(4)
        ]
        for p in processes:
            assert p.stdout is not None
            assert await asyncio.wait_for(p.stdout.readline(), timeout=60) == b"ready\n"
        errors = await asyncio.wait_for(
            asyncio.gather(*(p.communicate(b"go\n") for p in processes)), timeout=120
        )
        failed = [
            err.decode()[-400:]
            for (_, err), p in zip(errors, processes, strict=True)
            if p.returncode
        ]
        assert failed == []
        one = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        async with one.connect() as conn:
            heads = await conn.execute(text("SELECT version_num FROM alembic_version"))
            assert len(heads.all()) == 1
        await one.dispose()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
