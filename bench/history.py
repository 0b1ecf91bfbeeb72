"""A project's history written straight into the mirror tables: 50k issues, 1M worklogs, fast.

Going through the worker would take longer than the measurement itself, so the history is made by
the raw drivers (sqlite3 `executemany`, PostgreSQL `COPY`), in the storage format SQLAlchemy uses
(naive UTC timestamps, `YYYY-MM-DD HH:MM:SS.ffffff` text on SQLite, JSON as text), so that the
service reads these rows exactly as it reads its own.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import psycopg

from bench import payloads
from bench.core import raw_dsn

ISSUE_COLUMNS = (
    "id",
    "key",
    "project_key",
    "summary",
    "issue_type",
    "is_subtask",
    "parent_id",
    "status",
    "status_category",
    "assignee",
    "reporter",
    "components",
    "labels",
    "fix_versions",
    "original_estimate_seconds",
    "story_points",
    "flagged",
    "flagged_since",
    "created",
    "updated",
    "resolved",
    "status_since",
    "moved_in_at",
    "deleted",
    "event_ts",
)
WORKLOG_COLUMNS = ("id", "issue_id", "author", "started", "seconds", "updated", "deleted")
TRANSITION_COLUMNS = ("issue_id", "from_status", "to_status", "at")
SCOPE_COLUMNS = (
    "project_key",
    "issue_id",
    "key",
    "summary",
    "issue_type",
    "created",
    "detected_at",
    "hours",
    "hours_source",
    "cost",
    "currency",
    "schedule_days",
    "decision",
    "withdrawn",
    "impact_version",
    "written_version",
)
INBOX_COLUMNS = (
    "body_sha256",
    "event",
    "body",
    "received_at",
    "source",
    "status",
    "attempts",
    "duplicates",
)
SPAN = timedelta(days=364)  # 52 weeks of worklogs
FIX_VERSIONS = json.dumps(
    [{"id": "10020", "name": "MVP", "releaseDate": "2026-12-18", "released": False}]
)


def stamp(at: datetime) -> str:
    """SQLAlchemy's storage of a UTC datetime: naive, with microseconds (also valid for COPY)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


# --- row generators ------------------------------------------------------------------------------


def issue_rows(count: int) -> Iterator[tuple[Any, ...]]:
    """Issue n as it stands after its history: walked some way along the workflow."""
    for n in range(1, count + 1):
        spec = payloads.known_issue(n)
        rng = random.Random(-n)
        status = rng.choices(range(len(payloads.STATUSES)), weights=[3, 3, 1, 1, 1, 4])[0]
        name, _, category = payloads.STATUSES[status]
        type_name, _, subtask = payloads.TYPES[spec.type_index]
        since = spec.created + timedelta(days=2 * status)
        yield (
            spec.id,
            spec.key,
            "ACME",
            f"{type_name} {n}: export invoices as PDF",
            type_name,
            subtask,
            None,
            name,
            category,
            payloads.PEOPLE[spec.assignee][0],
            payloads.PEOPLE[spec.reporter][0],
            json.dumps([spec.component]),
            "[]",
            FIX_VERSIONS,
            spec.estimate_seconds,
            spec.story_points,
            False,
            None,
            stamp(spec.created),
            stamp(since),
            stamp(since) if category == "done" else None,
            stamp(since),
            None,
            False,
            int(since.timestamp() * 1000),
        )


def transition_rows(count: int) -> Iterator[tuple[Any, ...]]:
    """The status changes that brought each issue where `issue_rows` leaves it."""
    for row in issue_rows(count):
        spec = payloads.known_issue(int(row[1].split("-")[1]))
        final = [s[0] for s in payloads.STATUSES].index(row[7])
        for step in range(1, final + 1):
            at = spec.created + timedelta(days=2 * step)
            yield (spec.id, payloads.STATUSES[step - 1][0], payloads.STATUSES[step][0], stamp(at))


def worklog_rows(first: int, count: int, issues: int, seed: int = 0) -> Iterator[tuple[Any, ...]]:
    """Worklogs `first`..`first + count - 1`: a random issue, author and time in the 52 weeks."""
    rng = random.Random(seed * 1_000_003 + first)
    rand, randrange = rng.random, rng.randrange
    people = [p[0] for p in payloads.PEOPLE]
    durations = (900, 1800, 3600, 7200, 10800)
    span = SPAN.total_seconds()
    for w in range(first, first + count):
        started = payloads.START + timedelta(seconds=int(rand() * span))
        seconds = durations[randrange(5)]
        yield (
            str(payloads.WORKLOG_BASE + w),
            str(payloads.ISSUE_BASE + 1 + randrange(issues)),
            people[randrange(6)],
            stamp(started),
            seconds,
            stamp(started + timedelta(seconds=seconds)),
            False,
        )


def scope_change_rows(count: int, baseline: datetime, every: int = 12) -> Iterator[tuple]:
    """A scope change for every `every`-th issue created after the baseline, priced at 85/h."""
    for row in issue_rows(count):
        spec = payloads.known_issue(int(row[1].split("-")[1]))
        if spec.created <= baseline or spec.n % every:
            continue
        hours = (spec.estimate_seconds or 8 * 3600) / 3600
        decision = ("pending", "approved", "rejected")[spec.n % 3]
        yield (
            "ACME",
            spec.id,
            spec.key,
            row[3],
            row[4],
            row[18],
            row[18],
            hours,
            "estimate" if spec.estimate_seconds else "default",
            hours * 85,
            "EUR",
            hours / 24,
            decision,
            False,
            1,
            0,
        )


# --- writing -------------------------------------------------------------------------------------


def bulk_insert(
    url: str, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Raw-driver bulk insert; returns the number of rows written."""
    if url.startswith("sqlite"):
        return _sqlite_insert(url.split("///", 1)[1], table, columns, rows)
    return _pg_copy(url, table, columns, rows)


def _sqlite_insert(
    path: str, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    # Setting up is not what we measure: no fsync per chunk, a big page cache.
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")  # 200 MB
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    written = 0
    iterator = iter(rows)
    conn.execute("BEGIN")
    # Building secondary indexes once at the end is a third faster than keeping them up per row.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
        (table,),
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    while chunk := list(islice(iterator, 50_000)):
        conn.executemany(sql, chunk)
        written += len(chunk)
    for _, create in indexes:
        conn.execute(create)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return written


def _pg_copy(url: str, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    written = 0
    with psycopg.connect(raw_dsn(url)) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        conn.commit()
    return written


def analyze(url: str) -> None:
    """Fresh planner statistics, as a database that grew slowly would have."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("ANALYZE")
        conn.close()
        return
    with psycopg.connect(raw_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def count_rows(url: str, table: str, where: str = "") -> int:
    sql = f"SELECT count(*) FROM {table} {where}"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1])
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    with psycopg.connect(raw_dsn(url)) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def load_history(url: str, issues: int, worklogs: int) -> dict[str, int]:
    """The mirror of a project with `issues` issues and `worklogs` worklogs, and its transitions."""
    return {
        "issues": bulk_insert(url, "issues", ISSUE_COLUMNS, issue_rows(issues)),
        "transitions": bulk_insert(url, "transitions", TRANSITION_COLUMNS, transition_rows(issues)),
        "worklogs": bulk_insert(
            url, "worklogs", WORKLOG_COLUMNS, worklog_rows(0, worklogs, issues)
        ),
    }
