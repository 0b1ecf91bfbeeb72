"""Case 6: the mail server says "later", says "never", and the scheduler fires twice.

A real SMTP server (aiosmtpd on loopback) answers from a script. `service.digest.send.send_digests`
runs over both projects of the sandbox mapping: a temporary 421/451 is retried until the mail is
accepted (one e-mail), a 550 fails that project's digest with the server's reason while the other
project's digest still goes, and a retry after the refusal is lifted sends it once, under the same
Message-ID. The scheduler ticking twice in the same minute, or in two processes at once, sends one
e-mail per project and week, on SQLite and PostgreSQL (the claim is a database row).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from mappings import load_mapping
from service.digest.schedule import Scheduler
from service.digest.send import send_digests
from service.mailer import Mailer
from service.runtime import Runtime
from service.settings import Settings
from service.store.engine import make_engine
from service.store.schema import digest_recipients, digest_sends
from tests.reliability.harness import ADMIN, MAPPINGS, SECRET
from tests.smtp_sink import ScriptedSink, running_sink
from tests.support import caught_up, go_live

WEEK = "2026-W47"
AFTER_WEEK = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REFUSED = "550 5.1.1 <pm@acme.example>: Recipient address rejected: mailbox unavailable"
RETRY_WAIT = 0.2  # seconds before the first retry (2 s in production), doubling each time


@pytest.fixture
def sink() -> Iterator[tuple[ScriptedSink, int]]:
    with running_sink() as (handler, port):
        yield handler, port


def runtime(engine: Engine, db_url: str, smtp_port: int) -> Runtime:
    settings = Settings(
        database_url=db_url,
        mappings=MAPPINGS,
        webhook_secret=SECRET,
        admin_token=ADMIN,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        mail_from="Scopewatch <digest@agency.example>",
    )
    # The real retry loop and doubling, with a test-sized first wait.
    mailer = Mailer(settings.smtp_url or "", settings.mail_from or "", retry_wait=RETRY_WAIT)
    # Both projects mail their clients: live, and their mirror caught up with Jira.
    go_live(engine, "ACME", "BETA")
    caught_up(engine, "ACME", "BETA", now=AFTER_WEEK - timedelta(hours=4))
    return Runtime(settings=settings, engine=engine, mapping=load_mapping(MAPPINGS), mailer=mailer)


def first_message_ids(engine: Engine) -> dict[str, str]:
    """Each project's (single) recipient's Message-ID, as claimed before its first attempt."""
    with engine.connect() as conn:
        rows = conn.execute(select(digest_recipients)).mappings()
        return {row["project_key"]: row["message_id"] for row in rows}


def sends(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(digest_sends).order_by(digest_sends.c.project_key)).mappings()
        return {row["project_key"]: dict(row) for row in rows}


def test_421_451_then_accepted_is_one_email_and_550_fails_only_its_project(
    sqlite_url: str, sink: tuple[ScriptedSink, int], figures: dict[str, Any]
) -> None:
    # SQLite only: nothing here races; the two-process case below runs on both engines.
    engine = make_engine(sqlite_url)
    try:
        _later_never_and_lifted(engine, sqlite_url, sink, figures)
    finally:
        engine.dispose()


def _later_never_and_lifted(
    engine: Engine, db_url: str, sink: tuple[ScriptedSink, int], figures: dict[str, Any]
) -> None:
    handler, port = sink
    handler.data_replies = [
        "421 4.3.2 Service not available, closing transmission channel",
        "451 4.7.1 Greylisted, please try again later",
    ]
    handler.refuse = {"pm@acme.example": REFUSED}
    rt = runtime(engine, db_url, port)

    first = send_digests(rt, None, week=WEEK, now=AFTER_WEEK)

    assert first == {"ACME": "failed", "BETA": "sent"}
    [beta] = handler.messages()
    assert handler.delivered[0].rcpt_tos == ["owner@beta.example"]
    assert beta["Subject"].startswith("[BETA] Week 47:")
    gaps = [b - a for a, b in zip(handler.data_attempts, handler.data_attempts[1:], strict=False)]
    assert len(handler.data_attempts) == 3  # 421, 451, then 250
    assert gaps[0] >= RETRY_WAIT and gaps[1] >= 2 * RETRY_WAIT  # waited, and doubled
    recorded = sends(engine)
    assert recorded["ACME"]["status"] == "failed"
    assert REFUSED in recorded["ACME"]["error"]
    assert (recorded["BETA"]["status"], recorded["BETA"]["error"]) == ("sent", None)
    claimed = first_message_ids(engine)

    # The next run retries the failed project only; the refusal still stands.
    assert send_digests(rt, None, week=WEEK, now=AFTER_WEEK) == {
        "ACME": "failed",
        "BETA": "already-sent",
    }
    handler.refuse.clear()
    assert send_digests(rt, None, week=WEEK, now=AFTER_WEEK) == {
        "ACME": "sent",
        "BETA": "already-sent",
    }
    assert [m["Subject"][:6] for m in handler.messages()] == ["[BETA]", "[ACME]"]
    acme = handler.messages()[1]
    assert acme["Message-ID"] == claimed["ACME"]  # the first attempt's id
    assert {p: r["status"] for p, r in sends(engine).items()} == {"ACME": "sent", "BETA": "sent"}
    figures.update(
        emails=len(handler.delivered),
        data_attempts=len(handler.data_attempts),
        retry_gaps_s=[round(g, 2) for g in gaps[:2]],
        acme_error=REFUSED,
    )


def test_the_scheduler_firing_twice_in_a_minute_or_in_two_processes_sends_once(
    engine: Engine, db_url: str, sink: tuple[ScriptedSink, int], figures: dict[str, Any]
) -> None:
    handler, port = sink
    rt = runtime(engine, db_url, port)
    # Monday 23 Nov 2026, 08:30 in Berlin: ACME's digest (MON 08:00) is due, BETA's (09:00
    # Vienna) is not yet.
    acme_due = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    scheduler = Scheduler(rt)
    scheduler.tick(acme_due)
    scheduler.tick(acme_due + timedelta(seconds=30))
    assert [m["Subject"][:6] for m in handler.messages()] == ["[ACME]"]
    assert set(sends(engine)) == {"ACME"}

    # 09:30 in Vienna: BETA is due, and two schedulers (two processes) fire at the same instant.
    beta_due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    barrier = threading.Barrier(2)

    def tick() -> None:
        other = Scheduler(runtime(engine, db_url, port))
        barrier.wait()
        other.tick(beta_due)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    scheduler.tick(beta_due + timedelta(seconds=45))

    assert sorted(m["Subject"][:6] for m in handler.messages()) == ["[ACME]", "[BETA]"]
    assert {p: (r["status"], r["week"]) for p, r in sends(engine).items()} == {
        "ACME": ("sent", WEEK),
        "BETA": ("sent", WEEK),
    }
    figures.update(ticks=5, emails=len(handler.delivered))
