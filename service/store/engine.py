"""Engines for SQLite and PostgreSQL, tuned so that a committed row survives power loss.

SQLite: WAL so readers never block the writer, `synchronous=FULL` so a commit is on disk before we
answer 2xx, a busy timeout so concurrent writers queue instead of failing, and `BEGIN IMMEDIATE` for
every writing transaction so two writers never deadlock upgrading a read lock. Read-only work uses
`reader(engine)`, which begins a deferred transaction and so never waits for the writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

READONLY = "scopewatch_readonly"
AUTOCOMMIT = "scopewatch_autocommit"
BUSY_TIMEOUT = "scopewatch_busy_timeout_ms"


class DatabaseUnusable(Exception):
    """The database cannot even be set up (a SQLite file's folder cannot be made): one line."""


def make_engine(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms)
    # No pre-ping: it costs a round trip per request (a quarter of intake on PostgreSQL). A
    # connection found dead fails its request with a 503, Jira retries, and the pool replaces it.
    return create_engine(url, pool_recycle=300, pool_size=pool_size, max_overflow=pool_size)


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnusable(
                f"cannot make the folder of the SQLite file {path} ({exc.strerror}): "
                "fix SCOPEWATCH_DATABASE_URL"
            ) from None
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        record.info[BUSY_TIMEOUT] = busy_timeout_ms  # for `_wait_briefly_for_the_writer`
        # Take transaction control away from pysqlite so that we can say BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(AUTOCOMMIT, False):
            return  # no BEGIN: SQLite commits each statement by itself (see `autocommit`)
        conn.exec_driver_sql("BEGIN" if options.get(READONLY, False) else "BEGIN IMMEDIATE")

    return engine


@contextmanager
def reader(engine: Engine) -> Iterator[Connection]:
    """A read-only connection; on SQLite a deferred transaction that never queues behind writers."""
    with engine.connect() as conn:
        conn.execution_options(**{READONLY: True})
        yield conn
        conn.rollback()


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """Each statement commits by itself, durably (WAL + synchronous=FULL on SQLite).

    For intake's single INSERT: SQLite's write lock is then held for the statement alone, not
    for the Python around it, which halved intake's throughput when two web workers queued on
    BEGIN IMMEDIATE; PostgreSQL saves the BEGIN and COMMIT round trips.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Not SQLAlchemy's AUTOCOMMIT level: resetting it would give the pooled connection
            # back to pysqlite's own transaction handling, which the engine has switched off.
            conn.execution_options(**{AUTOCOMMIT: True})
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def insert_ignore(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    conflict: Sequence[str] | None = None,
) -> int:
    """INSERT … ON CONFLICT DO NOTHING on either engine; returns how many rows went in."""
    if isinstance(rows, Mapping):
        rows = [rows]
    inserted = 0
    for row in rows:
        stmt = insert_ignore_statement(conn.dialect.name, table, tuple(row), tuple(conflict or ()))
        # SQLAlchemy 2.1 reports rowcount for INSERT only when asked to keep it.
        result = conn.execute(stmt, dict(row), execution_options={"preserve_rowcount": True})
        inserted += max(result.rowcount, 0)
    return inserted


def upsert(
    conn: Connection,
    table: Table,
    row: Mapping[str, Any],
    key: Sequence[str],
    update: Sequence[str] | None = None,
    newer: str | None = None,
) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE on either engine.

    With `newer`, the update happens only when the new row's value of that column is greater: the
    check and the write are one statement, so two workers cannot interleave an older event last.
    """
    columns = tuple(update) if update is not None else tuple(c for c in row if c not in key)
    stmt = _upsert_stmt(conn.dialect.name, table, tuple(row), tuple(key), columns, newer)
    conn.execute(stmt, dict(row))


# Statements are built once per shape and executed with parameters, so SQLAlchemy's compiled
# cache serves every later call: compiling a fresh INSERT per delivery cost intake a third of
# its time.
@lru_cache(maxsize=256)
def insert_ignore_statement(
    dialect_name: str, table: Table, columns: tuple[str, ...], conflict: tuple[str, ...]
) -> Any:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    return (
        dialect.insert(table)
        .values({c: bindparam(c) for c in columns})
        .on_conflict_do_nothing(index_elements=list(conflict) or None)
    )


@lru_cache(maxsize=256)
def _upsert_stmt(
    dialect_name: str,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    update: tuple[str, ...],
    newer: str | None,
) -> Any:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    stmt = dialect.insert(table).values({c: bindparam(c) for c in columns})
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=list(key))
    where = table.c[newer] < stmt.excluded[newer] if newer else None
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: stmt.excluded[c] for c in update}, where=where
    )


def reachable(url: str, timeout_s: int = 2) -> bool:
    """Whether a database server answers at `url` (tests and benches skip what needs one)."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": timeout_s})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


def is_unavailable(exc: BaseException) -> bool:
    """True when the database cannot take a write right now (down, locked, out of connections)."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
