"""The intake reference: the least a durable webhook receiver can do on this stack.

A bare WSGI app (no framework) run under the same gunicorn settings as the service
(`gunicorn -c gunicorn.conf.py bench.reference_receiver:app`): it checks the HMAC of the raw body
and inserts the body into SQLite in WAL mode with synchronous=FULL, so every 202 is on disk, as
it is for the service. Its request rate is the ceiling of this machine, disk and server stack; the
service's intake is measured as a fraction of it.

Settings: SCOPEWATCH_WEBHOOK_SECRET, and BENCH_REFERENCE_DB (the SQLite file).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

SECRET = os.environ.get("SCOPEWATCH_WEBHOOK_SECRET", "").encode()
DB_PATH = os.environ.get("BENCH_REFERENCE_DB", "reference.db")
SCHEMA = "CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"

_conn: sqlite3.Connection | None = None  # one per gunicorn worker, opened after the fork


def open_db(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def create(path: str) -> None:
    """The table, made before the server starts (its workers would race to make it)."""
    conn = open_db(path)
    conn.execute(SCHEMA)
    conn.close()


def connection() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        _conn = open_db(DB_PATH)
    return _conn


def authentic(body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    if not authentic(body, environ.get("HTTP_X_HUB_SIGNATURE", "")):
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"bad signature"]
    # Autocommit: the INSERT is its own transaction, committed (and fsynced) before we answer.
    connection().execute("INSERT INTO deliveries (body) VALUES (?)", (body,))
    start_response("202 Accepted", [("Content-Type", "application/json")])
    return [b'{"status":"stored"}']
