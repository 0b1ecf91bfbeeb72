"""Scope tests run on a temp SQLite file with the schema created directly (fast, no migrations).

The schema is created once per session and the file copied for each test: every test still gets
its own real database through `make_engine`, without paying for a dozen synced CREATE TABLEs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from service.store import schema
from service.store.engine import make_engine


@pytest.fixture(scope="session")
def empty_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scope-template") / "scope.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.metadata.create_all(engine)
    engine.dispose()  # closing the last connection folds the WAL back into the file
    return path


@pytest.fixture
def db(tmp_path: Path, empty_db_file: Path) -> Iterator[Engine]:
    path = tmp_path / "scope.db"
    shutil.copyfile(empty_db_file, path)
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Runs after make_engine's own set-up: a test does not need its commits to survive a
        # power cut, and waiting for the disk on every commit would make this folder slow.
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    yield engine
    engine.dispose()
