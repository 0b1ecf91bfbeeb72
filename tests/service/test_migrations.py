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
