"""Each recipient of a digest gets their own e-mail: their own Message-ID, their own feedback
link (one answer each per week) and decision links naming them, so the decider is never asked.

Real parts throughout: the digest goes through an SMTP server on loopback, the client's links are
followed over HTTP against the service served by waitress, and the crash is a `scopewatch digest
send` process killed with SIGKILL in the middle of its second recipient.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from service import create_app
from service.digest.build import addressed_to, build_digest
from service.digest.decision_links import decision_secret
from service.digest.decision_links import read_token as read_decision
from service.digest.deliver import send_once
from service.digest.links import feedback_secret
from service.digest.links import read_token as read_feedback
from service.digest.send import send_digests
from service.digest.status import digest_history
from service.runtime import Runtime
from service.scope.changes import change_by_key
from service.store import schema
from service.store.clock import frozen_clock
from service.web.server import background
from tests import processes
from tests.reliability.harness import free_port
from tests.smtp_sink import ScriptedSink, running_sink
from tests.support import NOW, ROOT, SECRET, app_settings, caught_up, go_live
from tests.web.cockpit_support import SECRET_KEY, add_people, log_in, mirror_acme

WEEK = "2026-W47"
THREE = ["ana@acme.example", "ben@acme.example", "cho@acme.example"]
SENDER = "digest@agency.example"
BIN = Path(sys.executable).parent


@pytest.fixture
def sink() -> Iterator[tuple[ScriptedSink, int]]:
    with running_sink() as (handler, port):
        yield handler, port


def three_recipients(tmp_path: Path) -> Path:
    """The sandbox mapping with ACME's digest going to three people of the client."""
    mapping = (ROOT / "mappings" / "sandbox.toml").read_text(encoding="utf-8")
    one = 'digest = { to = ["pm@acme.example"]'
    assert one in mapping
    three = ", ".join(f'"{r}"' for r in THREE)
    path = tmp_path / "mapping.toml"
    path.write_text(mapping.replace(one, f"digest = {{ to = [{three}]", 1), encoding="utf-8")
    return path


@dataclass
class World:
    app: Any
    rt: Runtime
    mail: ScriptedSink  # what the SMTP server received
    smtp_port: int


@pytest.fixture
def world(db_url: str, tmp_path: Path, sink: tuple[ScriptedSink, int]) -> Iterator[World]:
    """ACME live and caught up, three recipients, served over HTTP at its public URL."""
    port = free_port()
    settings = app_settings(
        db_url,
        mappings=str(three_recipients(tmp_path)),
        secret_key=SECRET_KEY,
        smtp_url=f"smtp://127.0.0.1:{sink[1]}",
        mail_from=SENDER,
        public_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings, clock=frozen_clock(NOW))
    add_people(app)
    mirror_acme(app)
    engine = app.extensions["scopewatch"].engine
    go_live(engine, "ACME")
    caught_up(engine, "ACME", now=NOW - timedelta(days=2))  # before week 47's digest was due
    with background(app, port=port):
        yield World(app, app.extensions["scopewatch"], sink[0], sink[1])
    engine.dispose()


# Each request on a connection of its own, closed by the server: none is left open for the
# server's shutdown at the end of the test to trip over.
CLOSE = {"Connection": "close"}


def http_get(url: str, **kwargs: Any) -> requests.Response:
    return requests.get(url, headers=CLOSE, **kwargs)


def http_post(url: str, **kwargs: Any) -> requests.Response:
    return requests.post(url, headers=CLOSE, **kwargs)


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def links(message: EmailMessage, kind: str) -> list[str]:
    return re.findall(rf"http://127\.0\.0\.1:\d+/{kind}/[A-Za-z0-9_.\-]+", body(message))


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_three_recipients_get_three_messages_whose_links_name_each(world: World) -> None:
    rt, handler = world.rt, world.mail
    assert send_digests(rt, ["ACME"], week=WEEK, now=NOW) == {"ACME": "sent"}

    messages = handler.messages()
    assert [m["To"] for m in messages] == THREE
    assert [e.rcpt_tos for e in handler.delivered] == [[r] for r in THREE]
    assert len(set(handler.message_ids())) == 3
    feedback_key, decision_key = feedback_secret(rt), decision_secret(rt)
    assert feedback_key is not None and decision_key is not None
    for recipient, message in zip(THREE, messages, strict=True):
        [form] = links(message, "feedback")
        assert read_feedback(feedback_key, token(form), now=NOW).recipient == recipient
        decisions = links(message, "decisions")
        assert len(decisions) >= 2  # approve and reject for each change awaiting a decision
        for url in decisions:
            claim = read_decision(decision_key, token(url), 14, now=NOW)
            assert claim.recipients == (recipient,)

    # A restart, or the next tick, mails no one again.
    assert send_digests(rt, ["ACME"], week=WEEK, now=NOW) == {"ACME": "already-sent"}
    assert len(handler.delivered) == 3
    # What the cockpit and `project status` say of the week: sent, to whom, each one's copy.
    with rt.engine.connect() as conn:
        [week] = digest_history(conn, "ACME")
    assert (week["week"], week["what"], week["to"]) == (WEEK, "sent", THREE)
    assert [(r["recipient"], r["what"]) for r in week["recipients"]] == [(r, "sent") for r in THREE]


def test_two_recipients_answer_the_same_week_and_the_cockpit_shows_who(world: World) -> None:
    app, rt, handler = world.app, world.rt, world.mail
    send_digests(rt, ["ACME"], week=WEEK, now=NOW)
    ana, ben, _cho = handler.messages()
    [ana_form], [ben_form] = links(ana, "feedback"), links(ben, "feedback")

    assert "Answering as ana@acme.example" in http_get(ana_form, timeout=10).text
    answered = http_post(ana_form, data={"happy": "yes", "score": "9"}, timeout=10)
    assert answered.status_code == 200
    # Ben answers the same week on his own link, unhappy: his answer is stored beside Ana's.
    unhappy = {"happy": "no", "score": "4", "comment": "why is SSO extra?"}
    assert http_post(ben_form, data=unhappy, timeout=10).status_code == 200
    # A second answer from Ana is refused, and the page says what she answered before.
    again = http_post(ana_form, data={"happy": "no", "score": "1"}, timeout=10)
    assert again.status_code == 409
    assert "from ana@acme.example has already been recorded (happy, 9/10" in again.text

    with world.rt.engine.connect() as conn:
        stored = conn.execute(
            select(schema.feedback.c.recipient, schema.feedback.c.score).order_by(
                schema.feedback.c.id
            )
        ).all()
    assert [tuple(row) for row in stored] == [("ana@acme.example", 9), ("ben@acme.example", 4)]
    alerts = [m for m in handler.messages() if "feedback for" in str(m["Subject"])]
    assert len(alerts) == 1 and "Acme Corp (ben@acme.example)" in alerts[0].get_content()

    cockpit = app.test_client()
    assert log_in(cockpit).status_code == 302
    page = re.sub(r"\s+", " ", cockpit.get("/projects/ACME/feedback").get_data(as_text=True))
    assert '<th scope="col">Who</th>' in page
    assert "<td>ana@acme.example</td><td>yes</td>" in page
    assert "<td>ben@acme.example</td><td>not happy</td>" in page


def test_a_decision_from_a_recipients_link_is_recorded_as_theirs_without_asking(
    world: World,
) -> None:
    rt, handler = world.rt, world.mail
    send_digests(rt, ["ACME"], week=WEEK, now=NOW)
    ben = handler.messages()[1]
    key, approve = next(iter(approvals(ben).items()))

    page = http_get(approve, timeout=10)
    assert page.status_code == 200
    assert "Deciding as ben@acme.example." in page.text and "Who is deciding?" not in page.text
    done = http_post(approve, timeout=10)  # the confirm button: no other field
    assert done.status_code == 200 and f"{key} is approved" in done.text

    with world.rt.engine.connect() as conn:
        decided = change_by_key(conn, "ACME", key)
    assert decided is not None
    assert (decided.decision, decided.decided_by, decided.decision_channel) == (
        "approved",
        "ben@acme.example",
        "email",
    )


def approvals(message: EmailMessage) -> dict[str, str]:
    """Each change awaiting a decision → its approve link, as the text part lists them."""
    return dict(re.findall(r"^(ACME-\d+) .*\n\s+Approve: (\S+)", body(message), re.M))


def test_a_send_killed_during_the_second_recipient_mails_only_the_third_on_restart(
    world: World, tmp_path: Path, db_url: str
) -> None:
    handler, smtp_port = world.mail, world.smtp_port
    # Ben's mail arrives, but the sender never hears so: it is killed while it waits.
    handler.hold = {"ben@acme.example"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEWATCH_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "shifted"), str(ROOT)]),
        SCOPEWATCH_SHIFT_CLOCK_TO=NOW.isoformat(),
        SCOPEWATCH_DATABASE_URL=db_url,
        SCOPEWATCH_MAPPINGS=str(tmp_path / "mapping.toml"),
        SCOPEWATCH_WEBHOOK_SECRET=SECRET,
        SCOPEWATCH_SECRET_KEY=SECRET_KEY,
        SCOPEWATCH_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        SCOPEWATCH_MAIL_FROM=SENDER,
    )
    send = [str(BIN / "scopewatch"), "digest", "send", "--project", "ACME", "--week", WEEK]
    proc = processes.start(send, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(handler.delivered) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the second recipient's mail never came"
            time.sleep(0.05)
        processes.signal_group(proc, signal.SIGKILL)  # kill -9 before it hears Ben's mail went
        proc.wait(timeout=30)
    finally:
        processes.stop(proc)
    assert [e.rcpt_tos for e in handler.delivered] == [["ana@acme.example"], ["ben@acme.example"]]

    restarted = subprocess.run(send, env=env, capture_output=True, text=True, timeout=120)
    # Ana had it; Ben's copy reached him, though the killed sender never heard so: it is left
    # for an operator to check, not sent twice; Cho gets hers.
    assert restarted.stdout.strip() == "ACME: in-progress", restarted.stderr
    assert [e.rcpt_tos for e in handler.delivered] == [[r] for r in THREE]  # Cho's is new
    with world.rt.engine.connect() as conn:
        each = conn.execute(
            select(schema.digest_recipients.c.recipient, schema.digest_recipients.c.status)
        ).all()
    assert dict(each) == {
        "ana@acme.example": "sent",
        "ben@acme.example": "sending",
        "cho@acme.example": "sent",
    }
    again = subprocess.run(send, env=env, capture_output=True, text=True, timeout=120)
    assert again.stdout.strip() == "ACME: in-progress"
    assert len(handler.delivered) == 3  # a retry never mails anyone twice


def test_the_scheduler_goes_on_with_the_recipients_a_crash_left_unmailed(world: World) -> None:
    rt, handler = world.rt, world.mail
    due = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # ACME's digest: MON 08:00 in Berlin
    # As a scheduler killed right after mailing Ana left the database: her copy sent, the week
    # "sending", nobody else claimed.
    digest = build_digest(rt, "ACME", WEEK, due)
    mine = addressed_to(rt, digest, THREE[0], due)
    assert send_once(rt.engine, rt.mailer, mine, to=THREE[:1], now=due) == "sent"
    with rt.engine.begin() as conn:
        conn.execute(update(schema.digest_sends).values(status="sending", sent_at=None))

    restarted = due + timedelta(minutes=2)
    assert send_digests(rt, ["ACME"], due_only=True, now=restarted) == {"ACME": "sent"}
    assert [e.rcpt_tos for e in handler.delivered] == [[r] for r in THREE]
    assert send_digests(rt, ["ACME"], due_only=True, now=restarted) == {"ACME": "already-sent"}


def test_a_copy_cut_off_mid_send_holds_the_week_until_its_window_closes(world: World) -> None:
    rt, handler = world.rt, world.mail
    due = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    with rt.engine.begin() as conn:  # every copy claimed; Ben's died on the wire
        for recipient, status in zip(THREE, ("sent", "sending", "sent"), strict=True):
            conn.execute(
                schema.digest_recipients.insert().values(
                    project_key="ACME",
                    week=WEEK,
                    recipient=recipient,
                    status=status,
                    message_id=f"<{recipient}>",
                    claimed_at=due,
                )
            )
        conn.execute(
            schema.digest_sends.insert().values(
                project_key="ACME", week=WEEK, status="sending", message_id="<w>", claimed_at=due
            )
        )
    later = due + timedelta(hours=2)
    assert send_digests(rt, ["ACME"], due_only=True, now=later) == {"ACME": "in-progress"}
    assert handler.delivered == []
    with rt.engine.connect() as conn:
        [week] = digest_history(conn, "ACME")
    assert week["what"] == "sending" and week["to"] == [THREE[0], THREE[2]]
