"""Case 5: the database goes away. Intake answers 503, Jira's retries land, nothing is lost.

PostgreSQL: a private cluster (never the shared one) is stopped under a running app, then started
again. SQLite: another process holds `BEGIN EXCLUSIVE`. In both, Jira re-posts the same bodies
under the same delivery ids once the database is back, and also re-sends what it already had
answered (a 2xx lost on the wire): the inbox ends with one row per event and the re-sends counted
as duplicates.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from mappings import load_mapping
from service import create_app
from service.mirror.worker import drain_inbox, process_batch
from service.store import schema
from service.store.clock import frozen_clock
from service.store.engine import make_engine
from service.store.migrate import upgrade
from tests.reliability.harness import MAPPINGS, Delivery, PrivatePostgres, worklog_event
from tests.support import NOW, app_settings

MAPPING = load_mapping(MAPPINGS)


def post(client: FlaskClient, delivery: Delivery) -> Any:
    return client.post("/webhooks/jira", data=delivery.body, headers=delivery.headers())


def inbox_counts(engine: Any) -> tuple[int, int, int]:
    """(rows, duplicates counted, rejected rows)."""
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(schema.inbox)).scalar_one()
        dupes = conn.execute(select(func.sum(schema.inbox.c.duplicates))).scalar_one()
        rejected = conn.execute(select(func.count()).select_from(schema.rejected)).scalar_one()
    return int(rows), int(dupes or 0), int(rejected)


def count(engine: Any, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_postgres_stopped_then_back_503_then_retries_land_and_nothing_is_lost(
    private_pg: PrivatePostgres, figures: dict[str, Any]
) -> None:
    migrator = make_engine(private_pg.url)
    upgrade(migrator)
    migrator.dispose()
    app = create_app(app_settings(private_pg.url), clock=frozen_clock(NOW))
    try:
        _outage_and_recovery(app, private_pg, figures)
    finally:
        app.extensions["scopewatch"].engine.dispose()


def _outage_and_recovery(app: Any, private_pg: PrivatePostgres, figures: dict[str, Any]) -> None:
    client = app.test_client()
    engine = app.extensions["scopewatch"].engine
    before = [Delivery.of(worklog_event(n)) for n in range(20)]
    during = [Delivery.of(worklog_event(n)) for n in range(20, 40)]

    assert [post(client, d).status_code for d in before] == [202] * 20

    private_pg.stop()
    started = time.monotonic()
    refused = [post(client, d) for d in during]
    refusing_seconds = time.monotonic() - started
    assert [r.status_code for r in refused] == [503] * 20
    assert {r.headers["Retry-After"] for r in refused} == {"5"}
    assert {r.get_json()["error"]["message"] for r in refused} == {
        "database unavailable, retry later"
    }
    assert client.get("/readyz").status_code == 503
    with pytest.raises(OperationalError):
        # The worker cannot claim rows either, and says so.
        process_batch(engine, MAPPING, now=frozen_clock(NOW))

    private_pg.start()
    # Jira retries what it got a 503 for, and re-sends what it got a 2xx for but never heard.
    assert [post(client, d).status_code for d in during] == [202] * 20
    assert [post(client, d).status_code for d in before + during] == [200] * 40
    assert client.get("/readyz").status_code == 200

    assert inbox_counts(engine) == (40, 40, 0)
    stats = drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert (stats.handled, stats.failed) == (40, 0)
    assert count(engine, schema.worklogs) == 40
    figures.update(
        stored_before=20,
        refused_503=20,
        refusing_seconds=round(refusing_seconds, 2),
        retried_202=20,
        resent_200=40,
        inbox_rows=40,
        worklogs=40,
    )


def test_sqlite_locked_by_another_writer_503_then_retries_land_and_nothing_is_lost(
    sqlite_url: str, figures: dict[str, Any]
) -> None:
    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    try:
        _locked_and_released(app, sqlite_url, figures)
    finally:
        app.extensions["scopewatch"].engine.dispose()


def _locked_and_released(app: Any, sqlite_url: str, figures: dict[str, Any]) -> None:
    engine = app.extensions["scopewatch"].engine
    before = [Delivery.of(worklog_event(n)) for n in range(10)]
    during = [Delivery.of(worklog_event(n)) for n in range(10, 16)]
    assert [post(app.test_client(), d).status_code for d in before] == [202] * 10

    other_writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other_writer.execute("BEGIN EXCLUSIVE")
    answers: dict[int, Any] = {}

    def deliver(i: int) -> None:
        answers[i] = post(app.test_client(), during[i])

    # In parallel, so the six share one busy timeout (5 s) instead of queueing for 30 s.
    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(during))]
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        other_writer.rollback()
        other_writer.close()
    waited = time.monotonic() - started
    assert [answers[i].status_code for i in range(6)] == [503] * 6
    assert {answers[i].headers["Retry-After"] for i in range(6)} == {"5"}

    client = app.test_client()
    assert [post(client, d).status_code for d in during] == [202] * 6
    assert [post(client, d).status_code for d in before + during] == [200] * 16
    assert inbox_counts(engine) == (16, 16, 0)
    stats = drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert (stats.handled, stats.failed) == (16, 0)
    assert count(engine, schema.worklogs) == 16
    figures.update(
        stored_before=10,
        refused_503=6,
        lock_wait_seconds=round(waited, 2),
        retried_202=6,
        resent_200=16,
        inbox_rows=16,
        worklogs=16,
    )
