"""Exactly one digest per project and week: claims in `digest_sends`, a real SMTP server."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import Engine

from service.digest.deliver import digest_message_id, send_once
from service.mailer import Mailer
from service.store.schema import digest_sends, metadata
from tests.smtp_sink import ScriptedSink as Sink

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_digest.json"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
SENDER = "digest@agency.example"


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def smtp_url(sink: Sink) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'scopewatch.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def digest() -> dict[str, Any]:
    """The sample without its weekly series: "No data yet" charts keep these tests quick."""
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    del data["series"]
    return data


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(digest_sends)))


def send(
    engine: Engine,
    digest: dict[str, Any],
    smtp_url: str,
    *,
    mail_from: str = SENDER,
    to: list[str] | None = None,
    now: datetime = NOW,
) -> str:
    mailer = Mailer(smtp_url=smtp_url, mail_from=mail_from)
    return send_once(engine, mailer, digest, to=to or ["pm@acme.example"], now=now)


def test_a_second_send_for_the_same_week_sends_nothing(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    assert send(engine, digest, smtp_url) == "sent"
    assert send(engine, digest, smtp_url, now=NOW + timedelta(hours=1)) == "already-sent"
    assert len(sink.delivered) == 1
    [row] = rows(engine)
    assert (row.project_key, row.week, row.status) == ("ACME", "2026-W47", "sent")
    assert row.message_id == "<digest.ACME.2026-W47@agency.example>"
    assert sink.message_ids() == [row.message_id]
    assert row.claimed_at == NOW and NOW <= row.sent_at < NOW + timedelta(minutes=1)


def test_another_week_or_project_is_a_separate_digest(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    assert send(engine, digest, smtp_url) == "sent"
    assert send(engine, {**digest, "week": "2026-W48"}, smtp_url) == "sent"
    assert send(engine, {**digest, "project": "BETA"}, smtp_url) == "sent"
    assert len(sink.delivered) == 3


def test_a_send_left_in_progress_by_a_crash_is_not_repeated(
    engine: Engine,
    digest: dict[str, Any],
    sink: Sink,
    smtp_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(digest_sends).values(
                project_key="ACME",
                week="2026-W47",
                status="sending",
                message_id="<digest.ACME.2026-W47@agency.example>",
                claimed_at=NOW,
            )
        )
    assert send(engine, digest, smtp_url, now=NOW + timedelta(minutes=5)) == "in-progress"
    assert send(engine, digest, smtp_url, now=NOW + timedelta(days=2)) == "in-progress"
    assert sink.delivered == []
    assert "not resending" in caplog.text  # the operator hears about the old claim
    assert rows(engine)[0].status == "sending"


def test_a_failed_send_is_retried_later_with_the_same_message_id(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    sink.data_replies = ["554 5.7.0 relay temporarily misconfigured"]
    assert send(engine, digest, smtp_url) == "failed"
    [row] = rows(engine)
    assert row.status == "failed" and row.sent_at is None
    assert row.error == "554 5.7.0 relay temporarily misconfigured"

    # Even after the sender address changed, the retry keeps the first Message-ID.
    later = NOW + timedelta(hours=1)
    assert send(engine, digest, smtp_url, mail_from="new@other.example", now=later) == "sent"
    [row] = rows(engine)
    assert (row.status, row.error, row.claimed_at) == ("sent", None, later)
    assert sink.message_ids() == ["<digest.ACME.2026-W47@agency.example>"]
    assert send(engine, digest, smtp_url) == "already-sent"


def test_refused_recipients_are_recorded_with_the_send(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    sink.refuse = {"gone@acme.example": "550 5.1.1 no such user"}
    to = ["pm@acme.example", "gone@acme.example"]
    assert send(engine, digest, smtp_url, to=to) == "sent"
    assert rows(engine)[0].refused == {"gone@acme.example": "550 5.1.1 no such user"}


def test_a_digest_that_cannot_be_built_leaves_no_claim(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    with pytest.raises(ValueError, match="recipient"):
        send_once(engine, Mailer(smtp_url, SENDER), digest, to=[], now=NOW)
    assert rows(engine) == []
    assert send(engine, digest, smtp_url) == "sent"


def test_two_schedulers_at_once_send_one_digest(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    outcomes: list[str] = []
    start = threading.Barrier(3)

    def scheduler() -> None:
        start.wait()
        outcomes.append(send(engine, digest, smtp_url))

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes).count("sent") == 1 and len(outcomes) == 3
    assert set(outcomes) <= {"sent", "in-progress", "already-sent"}
    assert len(sink.delivered) == 1


def test_message_id_is_stable_and_safe() -> None:
    assert digest_message_id("ACME", "2026-W47", "Scopewatch <digest@agency.example>") == (
        "<digest.ACME.2026-W47@agency.example>"
    )
    assert digest_message_id("AC>ME\r\n", "2026-W47", "nobody") == (
        "<digest.ACME.2026-W47@scopewatch.invalid>"
    )


@pytest.fixture(autouse=True)
def _quiet_aiosmtpd(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="reports")
