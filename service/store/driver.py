"""Inserts through the driver: intake's single rows, the import's batches, the worker's worklogs.

SQLAlchemy's execution (connection wrapper, execution context, result) cost these hot paths more
than the INSERT itself, so they run the SQL SQLAlchemy compiled once straight on the pooled driver
connection. Everything else goes through `service.store.engine`. Values still pass the columns'
bind processors, and driver errors come out as SQLAlchemy's, so callers cannot tell the
difference but for the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from sqlite3 import SQLITE_BUSY
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

from service.store.engine import BUSY_TIMEOUT, insert_ignore_statement

# How long intake sleeps between tries for SQLite's write lock (see `_wait_briefly_for_the_writer`).
WRITER_POLL_SECONDS = 0.0002


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
    stmt = insert_ignore_statement(dialect.name, table, columns, ())
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
