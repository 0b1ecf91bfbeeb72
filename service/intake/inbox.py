"""The inbox: every accepted delivery, stored once, before we answer Jira.

Shared by the webhook route and `scopewatch inbox import`, so both check and dedupe alike: by
`X-Atlassian-Webhook-Identifier` and by a hash of the body (Jira may replay a body under a new id).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Table, bindparam, func, or_, select, update

from service.store import schema
from service.store.driver import insert_ignore_committed, insert_ignore_many
from service.store.engine import autocommit, insert_ignore

Row = dict[str, Any]  # an inbox row, as `_row` makes it


class BadDelivery(ValueError):
    """Not JSON, or not a Jira event; the reason is given back to the sender as a 400."""


def event_name(body: bytes) -> str:
    """The `webhookEvent` of a body, or BadDelivery saying why it is not a Jira event."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadDelivery(f"body is not valid JSON ({_short(exc)})") from None
    if not isinstance(document, dict):
        raise BadDelivery("body is JSON but not an object")
    event = document.get("webhookEvent")
    if not isinstance(event, str) or not event.strip():
        raise BadDelivery("body has no webhookEvent: not a Jira event")
    if len(event) > 200:
        raise BadDelivery("webhookEvent is longer than 200 characters")
    return event


def _short(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0][:120]


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def store(
    conn: Connection,
    *,
    body: bytes,
    event: str,
    delivery_id: str | None,
    now: datetime,
    source: str = "webhook",
) -> Literal["stored", "duplicate"]:
    """Insert the delivery, or count it as a duplicate of the row it repeats."""
    row = _row(body, event, delivery_id, now, source)
    if insert_ignore(conn, schema.inbox, row):
        return "stored"
    _count_duplicates(conn, [row])
    return "duplicate"


def store_committed(
    engine: Engine, *, body: bytes, event: str, delivery_id: str | None, now: datetime
) -> Literal["stored", "duplicate"]:
    """`store` for the webhook: the row is committed when this returns, in one statement.

    A new delivery, nearly every one, takes the driver's fast path; a duplicate is rare and goes
    the ordinary way.
    """
    row = _row(body, event, delivery_id, now, "webhook")
    if insert_ignore_committed(engine, schema.inbox, row):
        return "stored"
    with autocommit(engine) as conn:
        _count_duplicates(conn, [row])
    return "duplicate"


def store_many(
    conn: Connection,
    deliveries: Iterable[tuple[bytes, str, str | None]],
    *,
    now: datetime,
    source: str,
) -> int:
    """`store` for many (body, event, delivery id) at once; returns how many were stored.

    The outcome, down to each row's duplicates count, is that of storing them one by one, without
    a round trip per line. Each round inserts, in one batch, the lines that share no body hash
    or delivery id with an earlier undecided line; a line that repeats a row just stored is
    counted on it, and one that only repeated lines refused as duplicates themselves waits for
    the next round (rare: one round is the rule).
    """
    pending = [_row(*delivery, now, source) for delivery in deliveries]
    stored = 0
    while pending:
        fresh, held = _first_of_each(pending)
        inserted = insert_ignore_many(conn, schema.inbox, fresh, returning="body_sha256")
        stored += len(inserted)
        taken = {key for row in fresh if row["body_sha256"] in inserted for key in _keys(row)}
        repeats, pending = _settle(held, taken)
        _count_duplicates(conn, [row for row in fresh if row["body_sha256"] not in inserted])
        _count_duplicates(conn, repeats)
    return stored


def _first_of_each(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """The rows that share no key with an earlier row, and the others, both in order."""
    fresh: list[Row] = []
    held: list[Row] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        keys = _keys(row)
        (held if keys & seen else fresh).append(row)
        seen |= keys
    return fresh, held


def _settle(held: list[Row], taken: set[tuple[str, str]]) -> tuple[list[Row], list[Row]]:
    """The held rows that repeat a row just stored, and those that must wait for another round.

    A row waits too when it shares a key with an earlier row that waits: it may repeat that row
    once stored, and its duplicates count must then go to it as well.
    """
    repeats: list[Row] = []
    waiting: list[Row] = []
    waiting_keys: set[tuple[str, str]] = set()
    for row in held:
        keys = _keys(row)
        if keys & taken and not keys & waiting_keys:
            repeats.append(row)
        else:
            waiting.append(row)
            waiting_keys |= keys
    return repeats, waiting


def _keys(row: Row) -> set[tuple[str, str]]:
    keys = {("sha256", row["body_sha256"])}
    if row["delivery_id"]:
        keys.add(("id", row["delivery_id"]))
    return keys


def _count_duplicates(conn: Connection, rows: list[Row]) -> None:
    """One more on the row each delivery repeats, found by body hash or by delivery id: an
    UPDATE per distinct (body hash, delivery id)."""
    if not rows:
        return
    repeats = Counter((row["body_sha256"], row["delivery_id"]) for row in rows)
    inbox = schema.inbox
    same = or_(
        inbox.c.body_sha256 == bindparam("repeat_sha256"),
        inbox.c.delivery_id == bindparam("repeat_id"),  # a NULL id matches nothing
    )
    conn.execute(
        update(inbox).where(same).values(duplicates=inbox.c.duplicates + bindparam("repeat_n")),
        [
            {"repeat_sha256": digest, "repeat_id": delivery_id, "repeat_n": n}
            for (digest, delivery_id), n in repeats.items()
        ],
    )


def _row(body: bytes, event: str, delivery_id: str | None, now: datetime, source: str) -> Row:
    return {
        "delivery_id": (delivery_id or "").strip()[:200] or None,
        "body_sha256": body_hash(body),
        "event": event,
        "body": body,
        "received_at": now,
        "source": source,
        "status": "pending",
        "attempts": 0,
        "duplicates": 0,
    }


def reject(
    conn: Connection, *, body: bytes, delivery_id: str | None, reason: str, now: datetime
) -> None:
    conn.execute(
        schema.rejected.insert().values(
            received_at=now,
            delivery_id=(delivery_id or None) and delivery_id[:200],
            reason=reason,
            body=body,
        )
    )


def stats(conn: Connection) -> dict[str, Any]:
    counts = _count_by_status(conn, schema.inbox)
    duplicates = conn.execute(
        select(func.coalesce(func.sum(schema.inbox.c.duplicates), 0))
    ).scalar()
    rejected = conn.execute(select(func.count()).select_from(schema.rejected)).scalar()
    outbox = _count_by_status(conn, schema.outbox)
    oldest = conn.execute(
        select(func.min(schema.inbox.c.received_at)).where(schema.inbox.c.status == "pending")
    ).scalar()
    return {
        "pending": counts.get("pending", 0),
        "done": counts.get("done", 0),
        "failed": counts.get("failed", 0),
        "rejected": rejected or 0,
        "duplicates": int(duplicates or 0),
        "oldest_pending": oldest.isoformat() if oldest else None,
        "outbox": {k: outbox.get(k, 0) for k in ("pending", "done", "failed")},
    }


def _count_by_status(conn: Connection, table: Table) -> dict[str, int]:
    rows = conn.execute(select(table.c.status, func.count()).group_by(table.c.status)).all()
    return {str(status): int(n) for status, n in rows}


# --- the worker's side: claiming rows and recording what became of them ---------------------------


def claim_pending(conn: Connection, limit: int) -> list[Any]:
    """Up to `limit` pending rows (id, body, attempts, delivery_id), oldest first, locked for
    this transaction (`FOR UPDATE SKIP LOCKED`: other workers take the next ones)."""
    inbox = schema.inbox
    return list(
        conn.execute(
            select(inbox.c.id, inbox.c.body, inbox.c.attempts, inbox.c.delivery_id)
            .where(inbox.c.status == "pending")
            .order_by(inbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )


def mark_done(conn: Connection, ids: list[int], now: datetime) -> None:
    if ids:
        inbox = schema.inbox
        conn.execute(
            update(inbox)
            .where(inbox.c.id.in_(ids))
            .values(status="done", processed_at=now, attempts=inbox.c.attempts + 1, last_error=None)
        )


def record_failure(
    conn: Connection, row_id: int, attempts: int, reason: str, now: datetime, max_attempts: int
) -> None:
    """A row whose event failed: pending again until `max_attempts`, then failed for good."""
    status = "failed" if attempts >= max_attempts else "pending"
    conn.execute(
        update(schema.inbox)
        .where(schema.inbox.c.id == row_id)
        .values(
            attempts=attempts,
            status=status,
            last_error=reason,
            processed_at=now if status == "failed" else None,
        )
    )
