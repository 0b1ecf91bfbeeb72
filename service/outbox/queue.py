"""Effects on Jira, each done once: the `outbox` table is the queue, the Jira client the effect.

Generic: a job is a kind, a dedupe key and a JSON payload. What a kind does is the caller's:
`run_due` is handed the kinds (`JobKind`: how to execute one against Jira, and a hook run in the
transaction that marks it done), so the outbox never reads or writes another package's table.
The scope write-back (`service.scope.writeback`) is the kind scopewatch has today.

Whoever causes an effect enqueues its job in the same transaction; `dedupe_key` makes that
idempotent, and `cancel_pending` drops jobs by a key prefix that no worker has started. A worker
claims one due job at a time in a short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
SQLite has one writer at a time), then talks to Jira *outside* any transaction, and records the
outcome in another short one. A kind's `execute` must be safe to repeat: a worker can die
(`kill -9`) between a Jira call and our commit.

`JiraRetryLater` puts the job back with a later `next_attempt_at` (a 429 also pauses the whole
outbox via `kv['outbox.paused_until']`, for every process); other refusals fail the job after a
few attempts, with Jira's reason. Without a client (Jira not configured) jobs simply wait.

Only jobs of live projects run (`service.projects`): a project in observe mode keeps its jobs
queued, where `scopewatch project status` shows them, until `project go-live` lets them out.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update

from service.jira.client import JiraClient, JiraRejected, JiraRetryLater, JiraUnusable
from service.projects.modes import live_keys_query
from service.store.engine import insert_ignore, upsert
from service.store.schema import kv, outbox

log = logging.getLogger(__name__)

PAUSE_KEY = "outbox.paused_until"
MAX_REJECTIONS = 3  # a 4xx may be a passing state (a workflow mid-change); three is not
BACKOFF_FIRST = timedelta(seconds=15)
BACKOFF_MAX = timedelta(hours=1)
STATUSES = ("pending", "done", "failed")


class InvalidJob(ValueError):
    """The payload lacks what its kind needs; retrying cannot fix it."""


@dataclass(frozen=True)
class Job:
    """One claimed row of `outbox`."""

    id: int
    dedupe_key: str
    kind: str
    project_key: str
    issue_id: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Job:
        values = {f.name: row[f.name] for f in fields(cls)}
        if not isinstance(values["payload"], dict):
            values["payload"] = {}
        return cls(**values)

    @property
    def log_context(self) -> dict[str, Any]:
        """The fields every log line about a job carries (service.logs puts them in the JSON)."""
        return {
            "issue_key": self.payload.get("issue_key"),
            "job": self.dedupe_key,
            "project": self.project_key,
        }


@dataclass(frozen=True)
class Executed:
    """What a kind's `execute` did: whether Jira now shows the job's effects, and a note."""

    written: bool
    note: str | None = None


@dataclass(frozen=True)
class JobKind:
    """How to do one kind of job.

    `execute` talks to Jira and may raise `JiraRetryLater`, `JiraRejected` or `InvalidJob`;
    `on_done` runs in the transaction that marks a written job done (the kind's own tables).
    `calls` is how many Jira calls one job makes at most, which sizes its lease.
    """

    execute: Callable[[JiraClient, Job], Executed]
    on_done: Callable[[Connection, Job], None]
    calls: int


def enqueue(
    conn: Connection,
    *,
    dedupe_key: str,
    kind: str,
    project_key: str,
    issue_id: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Add a job unless one with this `dedupe_key` exists; True when it was added."""
    row = {
        "dedupe_key": dedupe_key,
        "kind": kind,
        "project_key": project_key,
        "issue_id": issue_id,
        "payload": dict(payload),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return insert_ignore(conn, outbox, row, conflict=["dedupe_key"]) == 1


def cancel_pending(
    conn: Connection, *, kind: str, key_prefix: str, reason: str, now: datetime
) -> None:
    """Marks the jobs of `kind` whose key starts with `key_prefix` and that no worker has
    started as done, with the reason. A job under a live lease is left alone: it may be half-way
    through its Jira calls.
    """
    ob = outbox.c
    conn.execute(
        update(outbox)
        .where(
            ob.kind == kind,
            ob.dedupe_key.startswith(key_prefix, autoescape=True),
            ob.status == "pending",
            (ob.lease_until.is_(None)) | (ob.lease_until <= now),  # as `_claim` claims
        )
        .values(status="done", done_at=now, last_error=reason)
    )


def outbox_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
    found = {str(status): int(count) for status, count in rows}
    return {status: found.get(status, 0) for status in STATUSES}


def pending_jobs(conn: Connection, project_key: str) -> list[dict[str, Any]]:
    """The project's jobs not yet done, oldest first: what going live would send."""
    rows = conn.execute(
        select(outbox)
        .where(outbox.c.project_key == project_key, outbox.c.status == "pending")
        .order_by(outbox.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def paused_until(conn: Connection) -> datetime | None:
    value = conn.execute(select(kv.c.value).where(kv.c.key == PAUSE_KEY)).scalar()
    return datetime.fromisoformat(value) if value else None


def run_due(
    engine: Engine,
    client: JiraClient | None,
    kinds: Mapping[str, JobKind],
    *,
    now: datetime,
    limit: int = 50,
    lease_seconds: float = 60,
) -> int:
    """Run up to `limit` due jobs; returns how many were completed."""
    if client is None:
        return 0  # Jira is not configured: jobs wait, and nothing fails for it
    calls = max((kind.calls for kind in kinds.values()), default=1)
    lease = _lease(client, calls, lease_seconds)
    with engine.begin() as conn:  # once per run, not per job: dead workers are rare
        _release_orphans(conn, now)
    completed = 0
    for _ in range(limit):
        job = _claim(engine, now, lease)
        if job is None:
            break
        outcome = _run_job(engine, client, kinds, job, now)
        if outcome == "done":
            completed += 1
        elif outcome == "stop":
            break  # Jira is down, rate limiting or refusing our login: the rest waits too
    return completed


def _lease(client: JiraClient, calls: int, lease_seconds: float) -> timedelta:
    # Each call may wait up to max_wait plus a read timeout; a lease shorter than the whole job
    # would let a second worker start the same job while the first is still in it.
    per_call = client.max_wait + sum(client.timeout)
    return timedelta(seconds=max(lease_seconds, calls * per_call))


# Told apart from a previous process that had the same host and pid (a restarted container).
_INCARNATION = uuid.uuid4().hex[:12]


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_INCARNATION}"


def _orphaned(owner: str | None) -> bool:
    """A lease held by a process of this host that no longer runs: killed, or restarted."""
    host, pid, incarnation = ((owner or "").rsplit(":", 2) + ["", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's lease runs its course
    if int(pid) == os.getpid():
        return incarnation != _INCARNATION  # our pid, an earlier life
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _release_orphans(conn: Connection, now: datetime) -> None:
    live = conn.execute(
        select(outbox.c.id, outbox.c.lease_owner).where(
            outbox.c.status == "pending", outbox.c.lease_until > now
        )
    ).all()
    orphans = [row.id for row in live if _orphaned(row.lease_owner)]
    if orphans:
        log.warning("taking back %s job(s) leased by a worker that died", len(orphans))
        conn.execute(update(outbox).where(outbox.c.id.in_(orphans)).values(lease_until=None))


def _claim(engine: Engine, now: datetime, lease: timedelta) -> Job | None:
    with engine.begin() as conn:
        pause = paused_until(conn)
        if pause is not None and pause > now:
            return None
        row = (
            conn.execute(
                select(outbox)
                .where(
                    outbox.c.status == "pending",
                    outbox.c.next_attempt_at <= now,
                    outbox.c.project_key.in_(live_keys_query()),  # observe mode writes nothing
                    or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now),
                )
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row["id"])
            .values(lease_until=now + lease, lease_owner=lease_owner())
        )
        return Job.from_row(row)


def _run_job(
    engine: Engine, client: JiraClient, kinds: Mapping[str, JobKind], job: Job, now: datetime
) -> str:
    """Execute one claimed job and record what happened: "done", "later", "failed" or "stop"."""
    kind = kinds.get(job.kind)
    if kind is None:
        _finish(engine, job, status="failed", now=now, error=f"unknown job kind {job.kind!r}")
        return "failed"
    try:
        done = kind.execute(client, job)
    except JiraRetryLater as exc:
        _retry_later(engine, job, now, exc)
        return "stop"
    except JiraRejected as exc:
        return _rejected(engine, job, now, exc)
    except InvalidJob as exc:
        _finish(engine, job, status="failed", now=now, error=f"invalid job: {exc}")
        return "failed"
    _finish(
        engine,
        job,
        status="done",
        now=now,
        error=done.note,
        on_done=kind.on_done if done.written else None,
    )
    return "done"


# --- recording outcomes ---------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** min(attempts, 20)), BACKOFF_MAX)


def _retry_later(engine: Engine, job: Job, now: datetime, exc: JiraRetryLater) -> None:
    # The client counts in real time; `now` may be the caller's clock, so carry delays, not times.
    delay = max(exc.delay, _backoff(job.attempts))
    log.warning("outbox job %s: Jira unavailable (%s)", job.id, exc.reason, extra=job.log_context)
    with engine.begin() as conn:
        _update(
            conn,
            job,
            attempts=job.attempts + 1,
            next_attempt_at=now + delay,
            lease_until=None,
            last_error=exc.reason,
        )
        if exc.pause is not None:
            _extend_pause(conn, now + exc.pause)


def _extend_pause(conn: Connection, until: datetime) -> None:
    held = paused_until(conn)
    if held is None or until > held:
        upsert(conn, kv, {"key": PAUSE_KEY, "value": until.isoformat()}, key=["key"])


def _rejected(engine: Engine, job: Job, now: datetime, exc: JiraRejected) -> str:
    reason = f"Jira refused: HTTP {exc.status}: {exc.message}"
    if exc.status == 401 or isinstance(exc, JiraUnusable):
        # Our credentials or site, not this job: keep every job waiting until an operator fixes
        # them.
        log.error("outbox: Jira does not accept our credentials or address: %s", exc)
        with engine.begin() as conn:
            _update(
                conn,
                job,
                next_attempt_at=now + _backoff(job.attempts),
                lease_until=None,
                last_error=reason,
            )
        return "stop"
    attempts = job.attempts + 1
    if attempts >= MAX_REJECTIONS:
        log.warning("outbox job %s failed: HTTP %s", job.id, exc.status, extra=job.log_context)
        _finish(engine, job, status="failed", now=now, error=reason)
        return "failed"
    with engine.begin() as conn:
        _update(
            conn,
            job,
            attempts=attempts,
            next_attempt_at=now + _backoff(job.attempts),
            lease_until=None,
            last_error=reason,
        )
    return "later"


def _finish(
    engine: Engine,
    job: Job,
    *,
    status: str,
    now: datetime,
    error: str | None,
    on_done: Callable[[Connection, Job], None] | None = None,
) -> None:
    with engine.begin() as conn:
        _update(
            conn,
            job,
            status=status,
            attempts=job.attempts + 1,
            lease_until=None,
            last_error=error,
            done_at=now if status == "done" else None,
        )
        if on_done is not None:
            on_done(conn, job)  # the kind's own record, in the same transaction
    if status == "done":
        log.info("outbox job %s done", job.id, extra=job.log_context)


def _update(conn: Connection, job: Job, **values: Any) -> None:
    # Only a job still pending is ours to record: never overwrite another worker's outcome.
    conn.execute(
        update(outbox).where(outbox.c.id == job.id, outbox.c.status == "pending").values(**values)
    )
