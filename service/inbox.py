"""The inbox: every accepted delivery, stored once, before we answer Jira.

Shared by the webhook route and `scopewatch inbox import`, so both check and dedupe alike: by
`X-Atlassian-Webhook-Identifier` and by a hash of the body (Jira may replay a body under a new id).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, func, or_, select, update

from service import schema
from service.db import insert_ignore


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
    digest = body_hash(body)
    delivery_id = (delivery_id or "").strip()[:200] or None
    inserted = insert_ignore(
        conn,
        schema.inbox,
        {
            "delivery_id": delivery_id,
            "body_sha256": digest,
            "event": event,
            "body": body,
            "received_at": now,
            "source": source,
            "status": "pending",
            "attempts": 0,
            "duplicates": 0,
        },
    )
    if inserted:
        return "stored"
    same = schema.inbox.c.body_sha256 == digest
    if delivery_id:
        same = or_(same, schema.inbox.c.delivery_id == delivery_id)
    conn.execute(update(schema.inbox).where(same).values(duplicates=schema.inbox.c.duplicates + 1))
    return "duplicate"


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
