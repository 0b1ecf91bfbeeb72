"""Shared fixtures: a migrated database on SQLite (a temp file) and on PostgreSQL, the app.

PostgreSQL tests use one throw-away database per run (`SCOPEWATCH_TEST_PG` names the server; CI
sets it). When no server answers they are skipped locally, but fail under CI, where one must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import create_app
from service.store import schema
from service.store.clock import frozen_clock
from service.store.engine import make_engine, reachable
from service.store.migrate import upgrade
from tests.support import NOW, JiraSender, app_settings

PG_SERVER = os.environ.get(
    "SCOPEWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    if not reachable(PG_SERVER):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {make_url(PG_SERVER).host} under CI")
        pytest.skip("PostgreSQL not reachable")
    name = f"scopewatch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in schema.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test using this runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scopewatch.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'scopewatch.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app(db_url: str) -> Iterator[Any]:
    """The app on a clock frozen at `NOW`: no view reads the wall clock."""
    app = create_app(app_settings(db_url), clock=frozen_clock(NOW))
    app.testing = True
    yield app
    app.extensions["scopewatch"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def jira(client: Any) -> JiraSender:
    return JiraSender(client)
