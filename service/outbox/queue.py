"""Jira effects, each done once: the `outbox` table is the queue, the Jira client the only effect.

The scope engine enqueues a job in the same transaction as the change that caused it; `dedupe_key`
makes that idempotent. A worker claims one due job at a time in a short transaction (`FOR UPDATE
SKIP LOCKED` on PostgreSQL; SQLite has one writer at a time), then talks to Jira *outside* any
transaction, and records the outcome in another short one.

A worker can die (`kill -9`) between a Jira call and our commit, so every step is safe to repeat
and the job starts by asking Jira how far it got:

(a) the issue property already holds this job's key -> it finished: mark it done;
(b) labels and fields in one edit (adding a label twice, or setting a field again, changes nothing);
(c) the comment is found by its marker: updated when the text differs, posted only when absent;
(d) the property is written last, as the marker that (a) looks for.

Once a write-back is in Jira, the scope change it carries (`property.value.change_id`, `version`)
is marked written in the same transaction that marks the job done (`scope_changes.written_version`,
which the API and the digest show as `written_back`).

`JiraRetryLater` puts the job back with a later `next_attempt_at` (a 429 also pauses the whole
outbox via `kv['outbox.paused_until']`, for every process); a 404 means the issue is gone, which
leaves nothing to do; other refusals fail the job after a few attempts, with Jira's reason.
Without a client (Jira not configured) jobs simply wait.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping as MappingABC
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update

from service.jira.client import JiraClient, JiraRejected, JiraRetryLater, same_comment_text
from service.jira.payloads import dig
from service.store.engine import insert_ignore, upsert
from service.store.schema import kv, outbox, scope_changes

log = logging.getLogger(__name__)

PAUSE_KEY = "outbox.paused_until"
JOB_FIELD = "job"  # in the property value: which job wrote it
MAX_REJECTIONS = 3  # a 4xx may be a passing state (a workflow mid-change); three is not
CALLS_PER_JOB = 5  # property read, edit, comment list, comment write, property write
BACKOFF_FIRST = timedelta(seconds=15)
BACKOFF_MAX = timedelta(hours=1)
STATUSES = ("pending", "done", "failed")


class InvalidJob(ValueError):
    """The payload lacks what a write-back needs; retrying cannot fix it."""


def enqueue(
    conn: Connection,
    *,
    dedupe_key: str,
    kind: str,
    project_key: str,
    issue_id: str,
    payload: MappingABC[str, Any],
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


def outbox_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
    found = {str(status): int(count) for status, count in rows}
    return {status: found.get(status, 0) for status in STATUSES}


def paused_until(conn: Connection) -> datetime | None:
    value = conn.execute(select(kv.c.value).where(kv.c.key == PAUSE_KEY)).scalar()
    return datetime.fromisoformat(value) if value else None


def run_due(
    engine: Engine,
    client: JiraClient | None,
    *,
    now: datetime,
    limit: int = 50,
    lease_seconds: float = 60,
) -> int:
    """Run up to `limit` due jobs; returns how many were completed."""
    if client is None:
        return 0  # Jira is not configured: jobs wait, and nothing fails for it
    lease = _lease(client, lease_seconds)
    with engine.begin() as conn:  # once per run, not per job: dead workers are rare
        _release_orphans(conn, now)
    completed = 0
    for _ in range(limit):
        job = _claim(engine, now, lease)
        if job is None:
            break
        outcome = _run_job(engine, client, job, now)
        if outcome == "done":
            completed += 1
        elif outcome == "stop":
            break  # Jira is down, rate limiting or refusing our login: the rest waits too
    return completed


def _lease(client: JiraClient, lease_seconds: float) -> timedelta:
    # Each call may wait up to max_wait plus a read timeout; a lease shorter than the whole job
    # would let a second worker start the same job while the first is still in it.
    per_call = client.max_wait + sum(client.timeout)
    return timedelta(seconds=max(lease_seconds, CALLS_PER_JOB * per_call))


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


def _claim(engine: Engine, now: datetime, lease: timedelta) -> dict[str, Any] | None:
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
        return dict(row)


def _run_job(engine: Engine, client: JiraClient, job: dict[str, Any], now: datetime) -> str:
    """Execute one claimed job and record what happened: "done", "later", "failed" or "stop"."""
    try:
        written, note = execute(client, job)
    except JiraRetryLater as exc:
        _retry_later(engine, job, now, exc)
        return "stop"
    except JiraRejected as exc:
        return _rejected(engine, job, now, exc)
    except InvalidJob as exc:
        _finish(engine, job, status="failed", now=now, error=f"invalid job: {exc}")
        return "failed"
    _finish(engine, job, status="done", now=now, error=note, written=written)
    return "done"


def execute(client: JiraClient, job: MappingABC[str, Any]) -> tuple[bool, str | None]:
    """Steps (a) to (d), safe to run any number of times.

    Returns whether Jira now shows the job's effects, and a note for the record.
    """
    payload = job["payload"] if isinstance(job["payload"], dict) else {}
    ref = str(job.get("issue_id") or payload.get("issue_key") or "")
    if not ref:
        raise InvalidJob("no issue to write to")
    prop = _property(payload)
    try:
        if prop is not None and _already_done(client, ref, prop["key"], job["dedupe_key"]):
            return True, "already in Jira"
        client.edit_issue(
            ref,
            labels_add=_strings(payload, "labels_add"),
            labels_remove=_strings(payload, "labels_remove"),
            fields=dict(payload.get("fields") or {}),
        )
        _comment(client, ref, payload.get("comment"))
        if prop is not None:
            client.set_property(ref, prop["key"], {**prop["value"], JOB_FIELD: job["dedupe_key"]})
    except JiraRejected as exc:
        if exc.status == 404:
            key = payload.get("issue_key") or ref
            return False, f"{key} no longer exists in Jira: nothing written"
        raise
    return True, None


def _property(payload: dict[str, Any]) -> dict[str, Any] | None:
    prop = payload.get("property")
    if not prop:
        return None
    if not isinstance(prop, dict) or not prop.get("key") or not isinstance(prop.get("value"), dict):
        raise InvalidJob("property needs a key and an object value")
    return prop


def _strings(payload: dict[str, Any], name: str) -> list[str]:
    values = payload.get(name) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidJob(f"{name} must be a list of strings")
    return values


def _already_done(client: JiraClient, ref: str, prop_key: str, dedupe_key: str) -> bool:
    held = client.get_property(ref, prop_key)
    return isinstance(held, dict) and held.get(JOB_FIELD) == dedupe_key


def _comment(client: JiraClient, ref: str, comment: Any) -> None:
    if not comment:
        return
    if not isinstance(comment, dict) or not isinstance(comment.get("text"), str):
        raise InvalidJob("comment needs a text")
    marker, text = str(comment.get("marker") or ""), comment["text"]
    body = text if not marker or marker in text else f"{text}\n\n{marker}"
    existing = next(
        (
            c
            for c in client.comments(ref)
            if (marker in c["body"] if marker else same_comment_text(c["body"], body))
        ),
        None,
    )
    if existing is None:
        client.add_comment(ref, body)
    elif not same_comment_text(existing["body"], body):
        client.update_comment(ref, str(existing["id"]), body)


# --- recording outcomes ---------------------------------------------------------------------------


def _context(job: dict[str, Any]) -> dict[str, Any]:
    """The fields every log line about a job carries (service.logs puts them in the JSON)."""
    payload = job.get("payload") or {}
    return {
        "issue_key": payload.get("issue_key"),
        "job": job.get("dedupe_key"),
        "project": job.get("project_key"),
    }


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** min(attempts, 20)), BACKOFF_MAX)


def _retry_later(engine: Engine, job: dict[str, Any], now: datetime, exc: JiraRetryLater) -> None:
    # The client counts in real time; `now` may be the caller's clock, so carry delays, not times.
    delay = max(exc.delay, _backoff(job["attempts"]))
    log.warning("outbox job %s: Jira unavailable (%s)", job["id"], exc.reason, extra=_context(job))
    with engine.begin() as conn:
        _update(
            conn,
            job,
            attempts=job["attempts"] + 1,
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


def _rejected(engine: Engine, job: dict[str, Any], now: datetime, exc: JiraRejected) -> str:
    reason = f"Jira refused: HTTP {exc.status}: {exc.message}"
    if exc.status == 401:
        # Our credentials, not this job: keep every job waiting until an operator fixes them.
        log.error("outbox: Jira does not accept our credentials (HTTP 401)")
        with engine.begin() as conn:
            _update(
                conn,
                job,
                next_attempt_at=now + _backoff(job["attempts"]),
                lease_until=None,
                last_error=reason,
            )
        return "stop"
    attempts = job["attempts"] + 1
    if attempts >= MAX_REJECTIONS:
        log.warning("outbox job %s failed: HTTP %s", job["id"], exc.status, extra=_context(job))
        _finish(engine, job, status="failed", now=now, error=reason)
        return "failed"
    with engine.begin() as conn:
        _update(
            conn,
            job,
            attempts=attempts,
            next_attempt_at=now + _backoff(job["attempts"]),
            lease_until=None,
            last_error=reason,
        )
    return "later"


def _finish(
    engine: Engine,
    job: dict[str, Any],
    *,
    status: str,
    now: datetime,
    error: str | None,
    written: bool = False,
) -> None:
    with engine.begin() as conn:
        _update(
            conn,
            job,
            status=status,
            attempts=job["attempts"] + 1,
            lease_until=None,
            last_error=error,
            done_at=now if status == "done" else None,
        )
        if written:
            _record_written(conn, job)
    if status == "done":
        log.info("outbox job %s done", job["id"], extra=_context(job))


def _record_written(conn: Connection, job: dict[str, Any]) -> None:
    """A write-back now in Jira marks its version of the scope change as written back."""
    value = dig(job["payload"], "property", "value")
    change_id, version = dig(value, "change_id"), dig(value, "version")
    if not isinstance(change_id, int) or not isinstance(version, int):
        return
    conn.execute(
        update(scope_changes)
        .where(scope_changes.c.id == change_id, scope_changes.c.written_version < version)
        .values(written_version=version)
    )


def _update(conn: Connection, job: dict[str, Any], **values: Any) -> None:
    # Only a job still pending is ours to record: never overwrite another worker's outcome.
    conn.execute(
        update(outbox)
        .where(outbox.c.id == job["id"], outbox.c.status == "pending")
        .values(**values)
    )
