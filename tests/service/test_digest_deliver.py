"""Exactly one digest per project, week and recipient: each recipient's own message, claimed in
`digest_recipients` (the week's summary in `digest_sends`), through a real SMTP server."""

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

from service.digest.deliver import (
    digest_message_id,
    recipient_message_id,
    send_again,
    send_once,
)
from service.mailer import Mailer
from service.store.schema import digest_recipients, digest_sends, metadata
from tests.smtp_sink import ScriptedSink as Sink

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_digest.json"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
SENDER = "digest@agency.example"
CLIENT = "pm@acme.example"
THREE = ["ana@acme.example", "ben@acme.example", "cho@acme.example"]


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


def each(engine: Engine) -> dict[str, str]:
    """Each recipient's status."""
    with engine.connect() as conn:
        found = conn.execute(select(digest_recipients.c.recipient, digest_recipients.c.status))
        return {row.recipient: row.status for row in found}


def own_id(recipient: str, week: str = "2026-W47") -> str:
    return recipient_message_id("ACME", week, recipient, SENDER)


def signed_for(digest: dict[str, Any]) -> Any:
    """The digest as each recipient gets it: here their address stands in for their own links."""
    return lambda recipient: {**digest, "feedback": {"link": f"https://x.example/f/{recipient}"}}


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
    addressed = signed_for(digest)
    return send_once(engine, mailer, digest, to=to or [CLIENT], now=now, addressed=addressed)


def test_a_second_send_for_the_same_week_sends_nothing(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    assert send(engine, digest, smtp_url) == "sent"
    assert send(engine, digest, smtp_url, now=NOW + timedelta(hours=1)) == "already-sent"
    assert len(sink.delivered) == 1
    [row] = rows(engine)
    assert (row.project_key, row.week, row.status) == ("ACME", "2026-W47", "sent")
    assert row.message_id == "<digest.ACME.2026-W47@agency.example>"  # the week's
    assert sink.message_ids() == [own_id(CLIENT)]  # the recipient's own copy
    assert row.claimed_at == NOW and NOW <= row.sent_at < NOW + timedelta(minutes=1)


def test_another_week_or_project_is_a_separate_digest(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    assert send(engine, digest, smtp_url) == "sent"
    assert send(engine, {**digest, "week": "2026-W48"}, smtp_url) == "sent"
    assert send(engine, {**digest, "project": "BETA"}, smtp_url) == "sent"
    assert len(sink.delivered) == 3


def test_a_send_left_in_progress_by_a_crash_before_the_upgrade_is_not_repeated(
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
    # Whom that one message reached is unknown: no one is mailed again, whoever is listed now.
    assert send(engine, digest, smtp_url, now=NOW + timedelta(minutes=5)) == "in-progress"
    assert send(engine, digest, smtp_url, to=THREE, now=NOW + timedelta(days=2)) == "in-progress"
    assert sink.delivered == []
    assert "not resending" in caplog.text  # the operator hears about the old claim
    assert rows(engine)[0].status == "sending" and each(engine) == {}


def test_three_recipients_get_three_messages_each_with_their_own_id_and_links(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    assert send(engine, digest, smtp_url, to=[*THREE, THREE[0]]) == "sent"  # listed twice: once
    assert [envelope.rcpt_tos for envelope in sink.delivered] == [[r] for r in THREE]
    messages = sink.messages()
    assert [m["To"] for m in messages] == THREE
    assert sink.message_ids() == [own_id(r) for r in THREE]
    assert len(set(sink.message_ids())) == 3
    for recipient, message in zip(THREE, messages, strict=True):
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert f"https://x.example/f/{recipient}" in text
        assert all(f"/f/{other}" not in text for other in THREE if other != recipient)
    assert each(engine) == dict.fromkeys(THREE, "sent")
    assert rows(engine)[0].status == "sent"
    assert send(engine, digest, smtp_url, to=THREE) == "already-sent"
    assert len(sink.delivered) == 3


def test_after_a_crash_between_recipients_only_those_not_yet_mailed_get_it(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    # The process mailed Ana, then died (kill -9) before claiming Ben: as it left the database.
    assert send(engine, digest, smtp_url, to=THREE[:1]) == "sent"
    with engine.begin() as conn:
        conn.execute(digest_sends.update().values(status="sending", sent_at=None))
    restarted = NOW + timedelta(minutes=3)
    assert send(engine, digest, smtp_url, to=THREE, now=restarted) == "sent"
    assert [envelope.rcpt_tos for envelope in sink.delivered] == [[r] for r in THREE]
    assert sink.message_ids() == [own_id(r) for r in THREE]  # Ana once
    assert rows(engine)[0].status == "sent"


def test_a_recipient_whose_send_was_cut_off_is_not_mailed_again_but_the_others_are(
    engine: Engine,
    digest: dict[str, Any],
    sink: Sink,
    smtp_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with engine.begin() as conn:  # killed while talking to the mail server about Ben
        conn.execute(
            insert(digest_recipients).values(
                project_key="ACME",
                week="2026-W47",
                recipient=THREE[1],
                status="sending",
                message_id=own_id(THREE[1]),
                claimed_at=NOW,
            )
        )
    later = NOW + timedelta(hours=2)
    assert send(engine, digest, smtp_url, to=THREE, now=later) == "in-progress"
    assert [envelope.rcpt_tos for envelope in sink.delivered] == [[THREE[0]], [THREE[2]]]
    assert each(engine) == {THREE[0]: "sent", THREE[1]: "sending", THREE[2]: "sent"}
    assert rows(engine)[0].status == "sending"
    assert f"to {THREE[1]} has been 'sending'" in caplog.text

    # The operator checked Ben's mailbox and marks his copy failed: the next send is his alone.
    with engine.begin() as conn:
        conn.execute(
            digest_recipients.update()
            .values(status="failed")
            .where(digest_recipients.c.recipient == THREE[1])
        )
    assert send(engine, digest, smtp_url, to=THREE, now=later) == "sent"
    assert sink.message_ids()[2:] == [own_id(THREE[1])]
    assert rows(engine)[0].status == "sent"


def test_a_resend_mails_each_recipient_again_under_new_ids(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    assert send(engine, digest, smtp_url, to=THREE) == "sent"
    mailer = Mailer(smtp_url=smtp_url, mail_from=SENDER)
    later = NOW + timedelta(days=1)
    again = send_again(engine, mailer, digest, to=THREE, now=later, addressed=signed_for(digest))
    assert again == "sent"
    first, second = sink.message_ids()[:3], sink.message_ids()[3:]
    assert [envelope.rcpt_tos for envelope in sink.delivered[3:]] == [[r] for r in THREE]
    assert len(set(first + second)) == 6  # else mail clients hide the resend
    assert each(engine) == dict.fromkeys(THREE, "sent")


def test_a_failed_send_is_retried_later_with_the_same_message_id(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    sink.data_replies = ["554 5.7.0 relay temporarily misconfigured"]
    assert send(engine, digest, smtp_url) == "failed"
    [row] = rows(engine)
    assert row.status == "failed" and row.sent_at is None
    assert row.error == f"{CLIENT}: 554 5.7.0 relay temporarily misconfigured"

    # Even after the sender address changed, the retry keeps the first Message-ID.
    later = NOW + timedelta(hours=1)
    assert send(engine, digest, smtp_url, mail_from="new@other.example", now=later) == "sent"
    [row] = rows(engine)
    assert (row.status, row.error, row.claimed_at) == ("sent", None, later)
    assert sink.message_ids() == [own_id(CLIENT)]
    assert send(engine, digest, smtp_url) == "already-sent"


def test_a_refused_recipient_fails_alone_and_is_retried_alone(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    sink.refuse = {"gone@acme.example": "550 5.1.1 no such user"}
    to = [CLIENT, "gone@acme.example"]
    assert send(engine, digest, smtp_url, to=to) == "failed"
    assert [envelope.rcpt_tos for envelope in sink.delivered] == [[CLIENT]]
    [row] = rows(engine)
    assert row.status == "failed" and list(row.refused) == ["gone@acme.example"]
    assert "550 5.1.1 no such user" in row.refused["gone@acme.example"]
    sink.refuse.clear()
    assert send(engine, digest, smtp_url, to=to, now=NOW + timedelta(hours=1)) == "sent"
    assert [envelope.rcpt_tos for envelope in sink.delivered] == [[CLIENT], ["gone@acme.example"]]
    assert rows(engine)[0].status == "sent" and rows(engine)[0].refused is None


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


def test_two_schedulers_at_once_mail_each_of_three_recipients_once(
    engine: Engine, digest: dict[str, Any], sink: Sink, smtp_url: str
) -> None:
    start = threading.Barrier(2)

    def scheduler() -> None:
        start.wait()
        send(engine, digest, smtp_url, to=THREE)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(envelope.rcpt_tos[0] for envelope in sink.delivered) == THREE
    assert rows(engine)[0].status == "sent"


def test_message_id_is_stable_and_safe() -> None:
    assert digest_message_id("ACME", "2026-W47", "Scopewatch <digest@agency.example>") == (
        "<digest.ACME.2026-W47@agency.example>"
    )
    assert digest_message_id("AC>ME\r\n", "2026-W47", "nobody") == (
        "<digest.ACME.2026-W47@scopewatch.invalid>"
    )
    ana = recipient_message_id("ACME", "2026-W47", "Ana@acme.example ", SENDER)
    assert ana == recipient_message_id("ACME", "2026-W47", "ana@acme.example", SENDER)
    assert ana.startswith("<digest.ACME.2026-W47.") and ana.endswith("@agency.example>")
    assert "acme.example" not in ana.split("@")[0]  # the address stays out of the header


@pytest.fixture(autouse=True)
def _quiet_aiosmtpd(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="reports")
