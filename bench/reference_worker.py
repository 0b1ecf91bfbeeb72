"""The worker reference: the least an inbox drainer must do, with the raw driver.

Same claim as the service (batches of 200, oldest first; `FOR UPDATE SKIP LOCKED` on PostgreSQL,
`BEGIN IMMEDIATE` on SQLite), same durable result per batch in one transaction: the body parsed,
the worklog or issue upserted only when newer, status transitions recorded, the rows marked done.
It does it with one `executemany` per table per batch and no per-row savepoint, lookup or scope
evaluation: its rate is what this database and Python's JSON parser allow here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.core import raw_dsn
from bench.history import stamp

BATCH = 200

WORKLOG_UPSERT = (
    "INSERT INTO worklogs (id, issue_id, author, started, seconds, updated, deleted) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET issue_id = excluded.issue_id, "
    "author = excluded.author, started = excluded.started, seconds = excluded.seconds, "
    "updated = excluded.updated WHERE worklogs.updated < excluded.updated"
)
ISSUE_UPSERT = (
    "INSERT INTO issues (id, key, project_key, summary, issue_type, status, status_category, "
    "assignee, components, labels, fix_versions, created, updated, event_ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "key = excluded.key, summary = excluded.summary, status = excluded.status, "
    "status_category = excluded.status_category, assignee = excluded.assignee, "
    "updated = excluded.updated, event_ts = excluded.event_ts "
    "WHERE issues.event_ts < excluded.event_ts"
)
TRANSITION_INSERT = (
    "INSERT INTO transitions (issue_id, from_status, to_status, at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
MARK_DONE = (
    "UPDATE inbox SET status = 'done', processed_at = ?, attempts = attempts + 1 WHERE id = ?"
)
CLAIM = "SELECT id, body FROM inbox WHERE status = 'pending' ORDER BY id LIMIT ?"


def _time(value: str | None) -> str | None:
    return stamp(datetime.fromisoformat(value)) if value else None


def _worklog(doc: dict[str, Any]) -> tuple[Any, ...]:
    w = doc["worklog"]
    return (
        w["id"],
        w["issueId"],
        w["author"]["accountId"],
        _time(w["started"]),
        w["timeSpentSeconds"],
        _time(w["updated"]),
        False,
    )


def _issue(doc: dict[str, Any]) -> tuple[Any, ...]:
    issue, f = doc["issue"], doc["issue"]["fields"]
    return (
        issue["id"],
        issue["key"],
        f["project"]["key"],
        f["summary"],
        f["issuetype"]["name"],
        f["status"]["name"],
        f["status"]["statusCategory"]["key"],
        (f.get("assignee") or {}).get("accountId"),
        json.dumps([c["name"] for c in f["components"]]),
        json.dumps(f["labels"]),
        json.dumps(f["fixVersions"]),
        _time(f["created"]),
        _time(f["updated"]),
        doc["timestamp"],
    )


def _transitions(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    at = stamp(datetime.fromtimestamp(doc["timestamp"] / 1000, UTC))
    items = (doc.get("changelog") or {}).get("items") or []
    return [
        (doc["issue"]["id"], i.get("fromString"), i.get("toString"), at)
        for i in items
        if i.get("field") == "status"
    ]


def apply_batch(execute_many: Callable[[str, list[tuple[Any, ...]]], None], rows: list) -> int:
    worklogs, issues, transitions = [], [], []
    for _, body in rows:
        doc = json.loads(body)
        if doc["webhookEvent"].startswith("worklog_"):
            worklogs.append(_worklog(doc))
        else:
            issues.append(_issue(doc))
            transitions.extend(_transitions(doc))
    now = stamp(datetime.now(UTC))
    for sql, params in (
        (WORKLOG_UPSERT, worklogs),
        (ISSUE_UPSERT, issues),
        (TRANSITION_INSERT, transitions),
        (MARK_DONE, [(now, row_id) for row_id, _ in rows]),
    ):
        if params:
            execute_many(sql, params)
    return len(rows)


def drain_sqlite(path: str) -> int:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    handled = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(CLAIM, (BATCH,)).fetchall()
        handled += apply_batch(conn.executemany, rows)
        conn.execute("COMMIT")
        if not rows:
            conn.close()
            return handled


def drain_postgres(url: str) -> int:
    handled = 0
    with psycopg.connect(raw_dsn(url)) as conn, conn.cursor() as cur:

        def execute_many(sql: str, params: list[tuple[Any, ...]]) -> None:
            cur.executemany(sql.replace("?", "%s"), params)

        while True:
            cur.execute(CLAIM.replace("?", "%s") + " FOR UPDATE SKIP LOCKED", (BATCH,))
            rows = cur.fetchall()
            try:
                done = apply_batch(execute_many, rows)
            except psycopg.errors.DeadlockDetected:
                # Two processes inserting the same new issue in opposite orders: PostgreSQL
                # rolls one batch back, and it is claimed again, as the service's worker does.
                conn.rollback()
                continue
            conn.commit()
            handled += done
            if not rows:
                return handled


def drain(url: str) -> int:
    if url.startswith("sqlite"):
        return drain_sqlite(url.split("///", 1)[1])
    return drain_postgres(url)
