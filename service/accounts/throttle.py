"""Login throttle: after `MAX_FAILURES` wrong passwords in a row, that e-mail waits `LOCKED_FOR`.

Counted by the e-mail typed (known or not), in the database, so every web process sees the same
count. A success clears it; a failure after the wait starts a new count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from service.store.schema import login_throttle

MAX_FAILURES = 5
LOCKED_FOR = timedelta(minutes=15)


def is_locked(conn: Connection, email: str, now: datetime) -> bool:
    row = conn.execute(select(login_throttle).where(login_throttle.c.email == email)).first()
    if row is None:
        return False
    return row.failures >= MAX_FAILURES and now - row.last_failure_at < LOCKED_FOR


def record_failure(conn: Connection, email: str, now: datetime) -> None:
    row = conn.execute(select(login_throttle).where(login_throttle.c.email == email)).first()
    if row is None:
        conn.execute(insert(login_throttle).values(email=email, failures=1, last_failure_at=now))
        return
    failures = 1 if now - row.last_failure_at >= LOCKED_FOR else row.failures + 1
    conn.execute(
        update(login_throttle)
        .where(login_throttle.c.email == email)
        .values(failures=failures, last_failure_at=now)
    )


def clear(conn: Connection, email: str) -> None:
    conn.execute(delete(login_throttle).where(login_throttle.c.email == email))
