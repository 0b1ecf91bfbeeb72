"""Shared fixtures: a migrated database on SQLite (a temp file) and on PostgreSQL, the app.

PostgreSQL tests use one throw-away database per run (`SCOPEWATCH_TEST_PG` names the server; CI
sets it). When no server answers they are skipped locally, but fail under CI, where one must run.

The run fails when a process a test started outlives the suite (pytest adopts orphaned
grandchildren, so a gunicorn worker whose parent was killed counts too), and a run that asked for
a shifted wall clock (`make test-shifted`) stops at once when the clock was not moved.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import create_app
from service.store import schema
from service.store.clock import frozen_clock
from service.store.engine import make_engine, reachable
from service.store.migrate import upgrade
from tests.processes import live_children
from tests.support import NOW, JiraSender, app_settings

PG_SERVER = os.environ.get(
    "SCOPEWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h

# No timed assertions, hypothesis's included: its 200 ms deadline per example failed tests on a
# busy machine. Speed is measured in bench/.
settings.register_profile("scopewatch", deadline=None)
settings.load_profile("scopewatch")
LEFT_BEHIND = pytest.StashKey[list[tuple[int, str]]]()


def pytest_configure(config: pytest.Config) -> None:
    _check_the_shifted_clock()
    if sys.platform == "linux":
        # Orphans of our children become our children, so the check below sees them too.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _check_the_shifted_clock() -> None:
    """`make test-shifted` starts the run at the destination: the clock must say so."""
    shift_to = os.environ.get("SCOPEWATCH_SHIFT_CLOCK_TO")
    if not shift_to:
        return
    destination = datetime.fromisoformat(shift_to)
    if destination.tzinfo is None:
        destination = destination.replace(tzinfo=UTC)
    if abs(datetime.now(UTC) - destination) > timedelta(days=1):
        pytest.exit(
            f"SCOPEWATCH_SHIFT_CLOCK_TO={shift_to}, but the clock says {datetime.now(UTC):%F %T}: "
            "put tests/shifted on PYTHONPATH (make test-shifted does)",
            returncode=4,
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fails the run if a process started by a test is still alive after the last test."""
    left = live_children(os.getpid())
    deadline = time.monotonic() + 5  # one that was told to stop a moment ago may still be going
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = live_children(os.getpid())
    if not left:
        return
    session.config.stash[LEFT_BEHIND] = left
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)  # ours: started by this run, or adopted as an orphan
        except ProcessLookupError:
            pass
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("randomly"):  # -q hides the header that names the seed
        seed = config.getoption("randomly_seed")
        terminalreporter.line(f"random order: repeat it with -p randomly --randomly-seed={seed}")
    left = config.stash.get(LEFT_BEHIND, [])
    if left:
        terminalreporter.section("processes left behind", red=True)
        for pid, command in left:
            terminalreporter.line(f"pid {pid}: {command}")
        terminalreporter.line("a test must end what it starts: see tests/processes.py")
