"""The migration history is one line: branches merged side by side must be chained."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from store.store import MIGRATIONS


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    heads = script.get_heads()
    assert len(heads) == 1, f"several migration heads {heads}: chain one after the other"
    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"
