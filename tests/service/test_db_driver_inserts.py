"""`insert_ignore_returning`: the worker's one-row INSERT through the driver, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from service.store import schema
from service.store.driver import insert_ignore_returning

STARTED = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


def worklog(worklog_id: str, seconds: int = 3600) -> dict:
    return {
        "id": worklog_id, "issue_id": "10101", "author": "5f8a", "started": STARTED,
        "seconds": seconds, "updated": STARTED, "deleted": False,
    }  # fmt: skip


def stored(engine) -> list[tuple]:
    w = schema.worklogs.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(w.id, w.seconds, w.started).order_by(w.id))]


def test_a_new_row_returns_its_key_and_a_held_one_none_and_is_left_alone(engine):
    with engine.begin() as conn:
        assert insert_ignore_returning(conn, schema.worklogs, worklog("1"), "id") == "1"
        assert insert_ignore_returning(conn, schema.worklogs, worklog("1", 60), "id") is None
    assert stored(engine) == [("1", 3600, STARTED)]  # the time, too, as SQLAlchemy stores it


def test_without_a_transaction_it_begins_one_so_nothing_commits_by_itself(engine):
    with engine.connect() as conn:
        assert insert_ignore_returning(conn, schema.worklogs, worklog("2"), "id") == "2"
        assert conn.in_transaction()
        conn.rollback()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.worklogs)).scalar() == 0
