"""Engines for SQLite and PostgreSQL, tuned so that a committed row survives power loss.

SQLite: WAL so readers never block the writer, `synchronous=FULL` so a commit is on disk before we
answer 2xx, a busy timeout so concurrent writers queue instead of failing, and `BEGIN IMMEDIATE` for
every writing transaction so two writers never deadlock upgrading a read lock. Read-only work uses
`reader(engine)`, which begins a deferred transaction and so never waits for the writer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from sqlite3 import SQLITE_BUSY
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Table, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import PoolProxiedConnection

READONLY = "scopewatch_readonly"
AUTOCOMMIT = "scopewatch_autocommit"
BUSY_TIMEOUT = "scopewatch_busy_timeout_ms"
# How long intake sleeps between tries for SQLite's write lock (see `_wait_briefly_for_the_writer`).
WRITER_POLL_SECONDS = 0.0002


def make_engine(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms)
    # No pre-ping: it costs a round trip per request (a quarter of intake on PostgreSQL). A
    # connection found dead fails its request with a 503, Jira retries, and the pool replaces it.
    return create_engine(url, pool_recycle=300, pool_size=pool_size, max_overflow=pool_size)


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
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
        stmt = _insert_ignore_stmt(conn.dialect.name, table, tuple(row), tuple(conflict or ()))
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
def _insert_ignore_stmt(
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


def default_sqlite_path() -> str:
    return os.path.join("instance", "scopewatch.db")


# --- inserts through the driver: intake's single rows, the import's batches ----------------------


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once into the driver's own SQL, with what its parameters need."""

    sql: str
    names: tuple[str, ...] | None  # parameter order for a positional paramstyle (qmark), else None
    processors: Mapping[str, Callable[[Any], Any]]  # bind processors of the columns that have one

    def params(self, row: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = dict(row)
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return values if self.names is None else [values[name] for name in self.names]


def insert_ignore_committed(engine: Engine, table: Table, row: Mapping[str, Any]) -> int:
    """`insert_ignore` of one row as its own committed statement; returns 1 if it went in, else 0.

    It runs on the pooled driver connection with the SQL SQLAlchemy compiled once: going through
    SQLAlchemy's execution (connection wrapper, execution context, result) cost intake more than
    the INSERT itself. Values pass the columns' bind processors, so the row is stored exactly as
    `insert_ignore` would store it; driver errors come out as SQLAlchemy's, and a connection
    found dead is invalidated so that the pool replaces it.
    """
    dialect = engine.dialect
    stmt = _driver_insert_ignore(dialect, table, tuple(row), None)
    with _driver_errors(dialect, stmt.sql):  # the pool's connect fails with the driver's error
        pooled = engine.raw_connection()
    try:
        with _driver_errors(dialect, stmt.sql, pooled.dbapi_connection, pooled.invalidate):
            return _execute_committed(dialect, pooled, stmt.sql, stmt.params(row))
    finally:
        pooled.close()


def insert_ignore_many(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], returning: str
) -> set[Any]:
    """`insert_ignore` of many rows of one shape, in `conn`'s transaction; returns the values of
    the `returning` column of the rows that went in.

    Through the driver too, as `insert_ignore_committed`. On PostgreSQL, psycopg's executemany
    pipelines the rows (every INSERT is sent before the first answer is read), where
    SQLAlchemy's multi-row INSERT had psycopg parse a statement of thousands of placeholders per
    batch, most of the import's time; on SQLite a statement per row costs no round trip.
    """
    if not rows:
        return set()
    stmt = _driver_insert_ignore(conn.dialect, table, tuple(rows[0]), returning)
    params = [stmt.params(row) for row in rows]
    with _driver_cursor(conn, stmt.sql) as cursor:
        if conn.dialect.driver == "psycopg":
            return _pipelined_returning(cursor, stmt.sql, params)
        return {key for p in params for (key,) in cursor.execute(stmt.sql, p).fetchall()}


def insert_ignore_returning(
    conn: Connection, table: Table, row: Mapping[str, Any], returning: str
) -> Any | None:
    """`insert_ignore` of one row in `conn`'s transaction; the `returning` column's value if the
    row went in, else None.

    Through the driver, as `insert_ignore_many`: the worker stores one worklog per event, and
    SQLAlchemy's execution cost more than the INSERT (59 us against 24 us on SQLite).
    """
    stmt = _driver_insert_ignore(conn.dialect, table, tuple(row), returning)
    with _driver_cursor(conn, stmt.sql) as cursor:
        cursor.execute(stmt.sql, stmt.params(row))
        found = cursor.fetchone()
    return None if found is None else found[0]


@contextmanager
def _driver_cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """A driver cursor in `conn`'s transaction, its errors raised as SQLAlchemy's."""
    if not conn.in_transaction():
        conn.begin()  # as SQLAlchemy's autobegin would, so no row commits on its own
    pooled = conn.connection
    with _driver_errors(conn.dialect, sql, pooled.dbapi_connection, conn.invalidate):
        cursor = pooled.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def _pipelined_returning(cursor: Any, sql: str, params: list[Any]) -> set[Any]:
    cursor.executemany(sql, params, returning=True)
    keys: set[Any] = set()
    while True:
        keys.update(key for (key,) in cursor.fetchall())
        if not cursor.nextset():
            return keys


def _execute_committed(
    dialect: Dialect, pooled: PoolProxiedConnection, sql: str, params: Any
) -> int:
    # SQLite connections commit each statement already (see `_on_connect`). On PostgreSQL the
    # driver's autocommit saves the BEGIN and COMMIT round trips, as `autocommit` does, and is
    # switched off again before the connection goes back to the pool.
    dbapi_connection = pooled.dbapi_connection
    assert dbapi_connection is not None  # a connection just checked out of the pool
    if dialect.name == "sqlite":
        return _wait_briefly_for_the_writer(pooled, sql, params)
    dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
    cursor = pooled.cursor()
    try:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
    finally:
        cursor.close()
        dialect.reset_isolation_level(dbapi_connection)


def _wait_briefly_for_the_writer(pooled: PoolProxiedConnection, sql: str, params: Any) -> int:
    """One committed statement on SQLite, trying for the write lock every 0.2 ms.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms and so on between tries, so a
    delivery that found the lock taken (the other web worker's INSERT, a worker's batch) slept
    on long after it was free: with two web workers taking turns, those sleeps were most of
    intake's p99 on SQLite. Here SQLite gives up at once and we try again soon, until the
    engine's busy timeout has passed; the connection gets its busy timeout back afterwards.
    """
    dbapi_connection: Any = pooled.dbapi_connection
    timeout_ms = int(pooled.info.get(BUSY_TIMEOUT, 5000))
    deadline = time.monotonic() + timeout_ms / 1000
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                cursor = dbapi_connection.execute(sql, params)
            except dbapi_connection.OperationalError as exc:
                locked = getattr(exc, "sqlite_errorcode", 0) & 0xFF == SQLITE_BUSY  # any BUSY_*
                if not locked or time.monotonic() >= deadline:
                    raise
                time.sleep(WRITER_POLL_SECONDS)
                continue
            return max(cursor.rowcount, 0)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={timeout_ms}")


@contextmanager
def _driver_errors(
    dialect: Dialect,
    sql: str,
    dbapi_connection: Any = None,
    invalidate: Callable[[Exception], None] | None = None,
) -> Iterator[None]:
    """A driver's error raised as SQLAlchemy's (callers and `is_unavailable` know only those),
    without the parameters (webhook bodies); a connection found dead is invalidated first."""
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        dead = dialect.is_disconnect(exc, dbapi_connection, None)
        if dead and invalidate is not None:
            invalidate(exc)
        raise DBAPIError.instance(
            sql,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=dead,
            dialect=dialect,
        ) from exc


@lru_cache(maxsize=64)
def _driver_insert_ignore(
    dialect: Dialect, table: Table, columns: tuple[str, ...], returning: str | None
) -> DriverStatement:
    stmt = _insert_ignore_stmt(dialect.name, table, columns, ())
    # Without `returning`, inline(): no RETURNING of the new id, which PostgreSQL compiles in.
    stmt = stmt.returning(table.c[returning]) if returning else stmt.inline()
    compiled = stmt.compile(dialect=dialect)
    processors = {}
    for name in columns:
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    names = tuple(compiled.positiontup or ()) if dialect.positional else None
    return DriverStatement(compiled.string, names, processors)
