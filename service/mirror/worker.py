"""The worker: drains the inbox into the mirror, then runs due Jira effects from the outbox.

A batch of inbox rows is claimed and processed in ONE transaction (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so several workers share the inbox; SQLite's single writer does the same by itself).
The mirror update and the row's `done` mark commit together, so `kill -9` at any point leaves
either both or neither: after a restart every row is processed exactly once. Each row runs in a
savepoint, so one bad event is marked failed (after a few attempts) without blocking the rest.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from mappings.model import Mapping
from service.intake import inbox
from service.mirror import rollup as worklog_rollup
from service.mirror.apply import lock_free_issues
from service.mirror.batch import Batch
from service.mirror.events import EventContext, dispatch
from service.mirror.rollup import Pending
from service.outbox import queue as outbox
from service.runtime import Runtime
from service.scope.writeback import KINDS as WRITEBACKS
from service.store.clock import system_clock

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


@dataclass
class WorkerStats:
    handled: int = 0
    failed: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


def process_batch(
    engine: Engine,
    mapping: Mapping,
    *,
    batch_size: int = 200,
    now: Callable[[], datetime] = system_clock,
    stats: WorkerStats | None = None,
    observe: Callable[[float], None] | None = None,
) -> int:
    """Processes up to `batch_size` pending deliveries; returns how many rows it claimed
    (some of which may have been left for a later batch, see `lock_free_issues`).

    `observe` receives each event's processing time in seconds (the `/metrics` histogram).
    """
    stats = stats if stats is not None else WorkerStats()
    with engine.connect() as conn, conn.begin():
        rows = inbox.claim_pending(conn, batch_size)
        claimed = len(rows)
        if not claimed:
            return 0
        batch_now = now()
        documents = [_parse(row.body) for row in rows]
        issue_ids = [_issue_of(d) for d in documents]
        # Before any change: events about one issue apply one transaction at a time. Those
        # about an issue another worker is applying stay pending, for a later batch.
        busy = lock_free_issues(conn, issue_ids)
        if busy:
            kept = [n for n, issue_id in enumerate(issue_ids) if issue_id not in busy]
            rows, documents = [rows[n] for n in kept], [documents[n] for n in kept]
            issue_ids = [issue_ids[n] for n in kept]
        batch = Batch(rollup=Pending.open(conn, issue_ids))
        events = _Events(conn, mapping, batch, batch_now, observe)
        try:
            # The common case: every event applies. One savepoint for the batch keeps the
            # statements per event to what the handler needs.
            with batch.undoable(), conn.begin_nested():
                outcomes: list[str | None] = [events.apply(doc) for doc in documents]
        except OperationalError:
            raise  # the database itself failed (deadlock, gone): retry the whole batch
        except Exception:  # noqa: BLE001 - one bad event: redo the batch one savepoint each
            outcomes = _one_by_one(events, rows, documents, stats)
        assert batch.rollup is not None
        batch.rollup.write(conn)
        done = [(row, outcome) for row, outcome in zip(rows, outcomes, strict=True) if outcome]
        inbox.mark_done(conn, [row.id for row, _ in done], batch_now)
        for _, outcome in done:
            stats.handled += 1
            stats.by_outcome[outcome] = stats.by_outcome.get(outcome, 0) + 1
    return claimed


def _parse(body: bytes) -> dict[str, Any] | ValueError:
    """The stored body as JSON; intake let only JSON objects in, but a hand-made row may not be."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        return exc
    return document if isinstance(document, dict) else ValueError("body is not a JSON object")


def _issue_of(document: dict[str, Any] | ValueError) -> str | None:
    """The issue an event is about, for the per-issue lock (links touch no worklog sums)."""
    if not isinstance(document, dict):
        return None
    issue, worklog = document.get("issue"), document.get("worklog")
    if isinstance(worklog, dict) and worklog.get("issueId"):
        return str(worklog["issueId"])
    if isinstance(issue, dict) and issue.get("id"):
        return str(issue["id"])
    return None


@dataclass(frozen=True)
class _Events:
    """One batch's events applied in its transaction, all sharing the batch's state."""

    conn: Connection
    mapping: Mapping
    batch: Batch
    now: datetime
    observe: Callable[[float], None] | None

    def apply(self, document: dict[str, Any] | ValueError) -> str:
        if isinstance(document, ValueError):
            raise document
        started = time.perf_counter()
        ctx = EventContext(conn=self.conn, mapping=self.mapping, now=self.now, batch=self.batch)
        outcome = dispatch(ctx, document)
        if self.observe is not None:
            self.observe(time.perf_counter() - started)
        return outcome


def _one_by_one(
    events: _Events,
    rows: Sequence[Any],  # the claimed inbox rows: id, body, attempts, delivery_id
    documents: list[dict[str, Any] | ValueError],
    stats: WorkerStats,
) -> list[str | None]:
    """Each event in its own savepoint: the bad one is recorded, the others still apply."""
    outcomes: list[str | None] = []
    for row, document in zip(rows, documents, strict=True):
        try:
            with events.batch.undoable(), events.conn.begin_nested():
                outcomes.append(events.apply(document))
        except OperationalError:
            raise
        except Exception as exc:  # noqa: BLE001 - a handler bug must not stop the inbox
            reason = _reason(exc)
            attempts = row.attempts + 1
            inbox.record_failure(events.conn, row.id, attempts, reason, events.now, MAX_ATTEMPTS)
            stats.failed += 1
            outcomes.append(None)
            log.warning(
                "event %s failed (attempt %s): %s",
                row.delivery_id or row.id,
                attempts,
                reason,
                extra={"delivery_id": row.delivery_id},
            )
    return outcomes


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def drain_inbox(
    engine: Engine,
    mapping: Mapping,
    *,
    batch_size: int = 200,
    retries: int = 5,
    now: Callable[[], datetime] = system_clock,
) -> WorkerStats:
    """Until the inbox is empty. A batch the database refused (locked by another worker past
    the busy timeout, a deadlock) rolled back whole and is simply tried again."""
    stats = WorkerStats()
    retrying = Retrying(
        retry=retry_if_exception_type(OperationalError),
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=0.2),
        before_sleep=_log_rolled_back,
        reraise=True,
    )
    while retrying(process_batch, engine, mapping, batch_size=batch_size, now=now, stats=stats):
        pass
    return stats


def _log_rolled_back(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("batch rolled back (%s), retrying", type(error).__name__)


def run_outbox(rt: Runtime) -> int:
    """Due Jira effects, now; 0 without a Jira client (the jobs wait)."""
    return outbox.run_due(rt.engine, rt.jira, WRITEBACKS, now=rt.clock())


def run_forever(
    rt: Runtime,
    *,
    stop: threading.Event,
    poll_seconds: float = 1.0,
    observe: Callable[[float], None] | None = None,
    also: Callable[[], object] | None = None,
) -> None:
    """The long-running loop of `scopewatch worker` and of `scopewatch run`. `also` runs when the
    queues are empty (budget alerts and flag notes, from layers above); it keeps its own pace."""
    rolled_up = False
    while not stop.is_set():
        try:
            if not rolled_up:
                worklog_rollup.ensure_built(rt.engine, rt.mapping, now=rt.clock)
                rolled_up = True
            claimed = process_batch(rt.engine, rt.mapping, now=rt.clock, observe=observe)
            busy = claimed + run_outbox(rt)
        except OperationalError as exc:
            log.warning("database unavailable to the worker: %s", type(exc).__name__)
            busy = 0
        if not busy and also is not None:
            also()
        if not busy:
            stop.wait(poll_seconds)


def run_once(rt: Runtime, *, deadline_seconds: float = 600) -> WorkerStats:
    """`worker --once`: drain the inbox, then every Jira effect that is due now, and stop."""
    worklog_rollup.ensure_built(rt.engine, rt.mapping, now=rt.clock)
    stats = drain_inbox(rt.engine, rt.mapping, now=rt.clock)
    deadline = time.monotonic() + deadline_seconds
    while run_outbox(rt) and time.monotonic() < deadline:
        pass
    return stats
