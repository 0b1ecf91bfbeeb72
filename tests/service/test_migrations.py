"""The Alembic migrations create exactly the schema in service/store/schema.py, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.store.migrate import current_revision, head_revision
from service.store.schema import metadata


def test_migrated_database_matches_the_schema_module(engine):
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_the_quick_migration_check_agrees_with_alembic(engine, tmp_path):
    """Commands and /readyz ask `revisions` (no Alembic import); it must say what Alembic says."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from service.store.migrate import MIGRATIONS
    from service.store.revisions import is_current

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision()
    assert is_current(engine)

    from sqlalchemy import create_engine

    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert current_revision(empty) is None and not is_current(empty)


def test_an_upgrade_keeps_a_project_that_already_wrote_to_jira_live(tmp_path):
    """First contact observes a NEW project; one that ran live before 0007 must not go quiet."""
    from sqlalchemy import text

    from service.projects.modes import is_live
    from service.store.engine import make_engine
    from service.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (dedupe_key, kind, project_key, issue_id, payload, status, "
                "attempts, next_attempt_at, created_at) VALUES ('k1', 'writeback', 'ACME', '1', "
                "'{}', 'done', 1, '2026-11-01 10:00:00', '2026-11-01 10:00:00')"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert is_live(conn, "ACME") and not is_live(conn, "BETA")
        (by, at) = conn.execute(
            text("SELECT changed_by, changed_at FROM project_mode_changes")
        ).one()
    assert by == "upgrade 0007"
    assert str(at).startswith("2026-11-01 10:00:00")  # its last live work, not the upgrade's day
    engine.dispose()
