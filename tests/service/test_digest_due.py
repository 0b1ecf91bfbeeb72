"""Never a stale or half-built digest: only the week due, only once caught up, only while live.

The scheduler and `send_digests` run in-process on a SQLite file with the sandbox mapping, against
a real SMTP server on loopback; every moment is handed over as `now`. ACME's digest is due on
Mondays at 08:00 in Berlin (07:00 UTC in November) with the default grace of 24 h; BETA's at
09:00 in Vienna, and BETA ends on 2026-12-23.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from mappings import load_mapping
from service.cli import main
from service.digest.schedule import Scheduler
from service.digest.send import Resend, send_digests
from service.digest.status import project_status
from service.mailer import Mailer
from service.runtime import Runtime
from service.settings import Settings
from service.store.engine import make_engine, reader
from tests.smtp_sink import ScriptedSink, running_sink
from tests.support import ROOT, caught_up, go_live

MAPPINGS = str(ROOT / "mappings" / "sandbox.toml")
SEND_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # ACME, week 47: Monday 08:00 in Berlin
CLIENT, PM = "pm@acme.example", "pm@agency.example"


@pytest.fixture
def sink() -> Iterator[ScriptedSink]:
    with running_sink() as (handler, port):
        handler.port = port  # type: ignore[attr-defined]
        yield handler


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def rt(engine: Engine, sqlite_url: str, sink: ScriptedSink) -> Runtime:
    port = sink.port  # type: ignore[attr-defined]
    settings = Settings(
        database_url=sqlite_url,
        mappings=MAPPINGS,
        webhook_secret="s",
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="Scopewatch <digest@agency.example>",
    )
    mailer = Mailer(settings.smtp_url or "", settings.mail_from or "", retry_wait=0.1)
    return Runtime(settings=settings, engine=engine, mapping=load_mapping(MAPPINGS), mailer=mailer)


def mails(sink: ScriptedSink, project: str = "ACME") -> list[EmailMessage]:
    """The messages about `project`, in the order they arrived."""
    return [m for m in sink.messages() if f"[{project}]" in m["Subject"] or project in m["Subject"]]


def to(message: EmailMessage) -> str:
    return str(message["To"])


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content())


def status(rt: Runtime, key: str, now: datetime) -> dict[str, Any]:
    project = rt.mapping.project(key)
    assert project is not None
    with reader(rt.engine) as conn:
        return project_status(conn, project, now)


def test_observe_mode_previews_to_the_pm_and_go_live_in_the_grace_window_sends_the_week(
    rt: Runtime, engine: Engine, sink: ScriptedSink
) -> None:
    caught_up(engine, "ACME", "BETA", now=SEND_AT - timedelta(hours=1))
    scheduler = Scheduler(rt)

    scheduler.tick(SEND_AT + timedelta(minutes=30))
    scheduler.tick(SEND_AT + timedelta(minutes=31))

    [preview] = mails(sink)
    assert to(preview) == PM
    assert preview["Subject"].startswith("[Preview] [ACME] Week 47")
    assert "PREVIEW" in body(preview, "plain") and "go-live ACME" in body(preview, "plain")
    assert "PREVIEW" in body(preview, "html")
    # It previews what the client would get: the client version, not the PM's.
    assert "Estimate at completion (EAC)" not in body(preview, "html")

    go_live(engine, "ACME", now=SEND_AT + timedelta(hours=2))
    scheduler.tick(SEND_AT + timedelta(hours=2, minutes=1))
    scheduler.tick(SEND_AT + timedelta(hours=2, minutes=2))

    client = [m for m in mails(sink) if to(m) == CLIENT]
    assert [m["Subject"][:15] for m in client] == ["[ACME] Week 47:"]
    digests = status(rt, "ACME", SEND_AT + timedelta(hours=3))["digests"]
    assert [(d["week"], d["what"]) for d in digests] == [
        ("2026-W47", "sent"),
        ("2026-W47", "preview"),
    ]


def test_a_week_past_its_grace_window_is_skipped_recorded_and_the_pm_told_once(
    rt: Runtime, engine: Engine, sink: ScriptedSink
) -> None:
    go_live(engine, "ACME")
    caught_up(engine, "ACME", "BETA", now=datetime(2026, 11, 1, tzinfo=UTC))
    scheduler = Scheduler(rt)
    late = SEND_AT + timedelta(hours=25)  # scopewatch was down from Monday morning to Tuesday

    scheduler.tick(late)
    scheduler.tick(late + timedelta(minutes=1))

    [note] = mails(sink)
    assert to(note) == PM
    assert note["Subject"] == "[scopewatch] ACME: no client digest for 2026-W47"
    assert "grace window" in body(note, "plain")
    [skipped] = status(rt, "ACME", late)["digests"]
    assert (skipped["week"], skipped["what"]) == ("2026-W47", "skipped")
    assert "grace window (24 h after 2026-11-23T08:00:00+01:00) closed" in skipped["why"]

    # The operator sends it anyway, on purpose: audited, as a message of its own.
    outcome = send_digests(rt, ["ACME"], week="2026-W47", resend=Resend(by="alice"), now=late)
    assert outcome == {"ACME": "resent"}
    [client] = [m for m in mails(sink) if to(m) == CLIENT]
    assert client["Subject"].startswith("[ACME] Week 47:")
    assert "resend" in client["Message-ID"]
    resent = status(rt, "ACME", late)["digests"][0]
    assert (resent["what"], resent["by"], resent["to"]) == ("resent", "alice", [CLIENT])


def test_no_digest_until_the_mirror_has_caught_up_and_the_wait_is_logged_once(
    rt: Runtime, engine: Engine, sink: ScriptedSink, caplog: pytest.LogCaptureFixture
) -> None:
    go_live(engine, "ACME")
    scheduler = Scheduler(rt)
    caplog.set_level(logging.INFO, logger="service.digest.schedule")

    for minute in range(30, 33):
        scheduler.tick(SEND_AT + timedelta(minutes=minute))

    assert mails(sink) == []
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("digest ACME")]
    assert waits == [
        "digest ACME: waiting: the mirror has not caught up with Jira yet "
        "(the first reconcile has not finished)"
    ]
    assert status(rt, "ACME", SEND_AT)["mirror"]["caught_up"] is False

    caught_up(engine, "ACME", now=SEND_AT + timedelta(minutes=40))
    scheduler.tick(SEND_AT + timedelta(minutes=41))
    assert [to(m) for m in mails(sink)] == [CLIENT]


def test_an_ended_project_gets_one_closing_digest_and_never_stops_the_others(
    rt: Runtime, engine: Engine, sink: ScriptedSink
) -> None:
    go_live(engine, "ACME", "BETA")
    caught_up(engine, "ACME", "BETA", now=datetime(2026, 11, 1, tzinfo=UTC))

    closing = send_digests(rt, None, due_only=True, now=datetime(2026, 12, 28, 8, 30, tzinfo=UTC))
    after = send_digests(rt, None, due_only=True, now=datetime(2027, 1, 4, 8, 30, tzinfo=UTC))
    long_after = send_digests(rt, None, due_only=True, now=datetime(2028, 3, 6, 9, 0, tzinfo=UTC))

    assert closing == {"ACME": "sent", "BETA": "sent"}  # BETA's week holding its end, 23 Dec
    assert after == {"ACME": "sent", "BETA": "ended"}
    assert long_after == {"ACME": "ended", "BETA": "ended"}
    assert [m["Subject"][:15] for m in mails(sink, "BETA")] == ["[BETA] Week 52:"]


def test_digest_send_resend_needs_a_week_and_is_refused_in_observe_mode(
    rt: Runtime, sink: ScriptedSink, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", MAPPINGS)
    monkeypatch.setenv("SCOPEWATCH_SMTP_URL", rt.settings.smtp_url or "")
    monkeypatch.setenv("SCOPEWATCH_MAIL_FROM", "digest@agency.example")
    runner = CliRunner()

    no_week = runner.invoke(main, ["digest", "send", "--project", "ACME", "--resend"])
    observe = runner.invoke(
        main, ["digest", "send", "--project", "ACME", "--week", "2026-W47", "--resend"]
    )

    assert no_week.exit_code == 2 and "--resend needs" in no_week.output
    assert observe.exit_code == 1
    assert "ACME: error: ACME is in observe mode" in observe.output
    assert sink.messages() == []


def test_two_schedulers_at_the_same_instant_preview_once_and_note_a_skipped_week_once(
    rt: Runtime, engine: Engine, sink: ScriptedSink
) -> None:
    caught_up(engine, "ACME", "BETA", now=SEND_AT - timedelta(hours=1))
    barrier = threading.Barrier(2)

    def tick(moment: datetime) -> None:
        scheduler = Scheduler(rt)
        barrier.wait()
        scheduler.tick(moment)

    for moment in (SEND_AT + timedelta(minutes=30), SEND_AT + timedelta(hours=30)):
        threads = [threading.Thread(target=tick, args=(moment,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    subjects = [m["Subject"] for m in mails(sink)]
    assert len(subjects) == 1 and subjects[0].startswith("[Preview] [ACME] Week 47")
    # In observe mode the preview was the PM's notice: the closed window adds a record, no mail.
    digests = status(rt, "ACME", SEND_AT + timedelta(hours=31))["digests"]
    assert [d["what"] for d in digests] == ["skipped", "preview"]  # newest first
