"""The client's daily note of newly flagged scope changes (`notify_client_on_flag`), end to end.

The changes come from the sandbox Jira over HTTP (its seed flags ACME-27, ACME-30 and ACME-31;
the tests create more), the notes go through a real SMTP server to ACME's two digest recipients,
and the links in them are followed through the web app. The worker's idle round sends them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

import pytest
from sqlalchemy import insert, select

from mappings import load_mapping
from mappings.model import Project
from service import create_app
from service.digest.flag_notices import Noted, PacedFlagNotices, notes_due, run_flag_notices
from service.mirror.reconcile import reconcile
from service.runtime import Runtime
from service.sandbox import SandboxServer
from service.scope.changes import change_by_key, pending_changes
from service.scope.model import ScopeChange
from service.settings import Settings
from service.store.schema import flag_notices
from tests import processes
from tests.jira.jira_site import JiraSite, make_client
from tests.smtp_sink import ScriptedSink, running_sink
from tests.support import NOW, ROOT, app_settings, go_live

CLIENT, CFO = "pm@acme.example", "cfo@acme.example"  # ACME's digest recipients here
SEEDED = ["ACME-30", "ACME-31", "ACME-27"]  # the seed's pending changes, in the order flagged
DEVELOPER = "5f8a1c2b3d4e5f6a7b8c9d01"  # a developer in mappings/sandbox.toml's [people]
SECRET_KEY = "test-flag-notes-secret-key-81c2"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def site(sandbox: SandboxServer) -> Iterator[JiraSite]:
    helper = JiraSite(sandbox.url)
    helper.http.post(f"{sandbox.url}/_sandbox/reset").raise_for_status()
    yield helper
    helper.http.close()


@pytest.fixture
def sink() -> Iterator[tuple[ScriptedSink, int]]:
    with running_sink() as (handler, port):
        yield handler, port


class Agency:
    """scopewatch for ACME with its mapping's key on (or off), on a clock the test moves."""

    def __init__(self, db_url: str, tmp_path: Path, site: JiraSite, port: int, notify: bool):
        mapping = (ROOT / "mappings" / "sandbox.toml").read_text(encoding="utf-8")
        acme = '{ to = ["pm@acme.example"], day = "MON", hour = 8, tz = "Europe/Berlin" }'
        assert acme in mapping
        mapping = mapping.replace(acme, acme.replace('"pm@acme.example"', f'"{CLIENT}", "{CFO}"'))
        # An internal cost rate the client must never see: 37 an hour against 85 billed.
        mapping = mapping.replace("developer = 85\n", "developer = { billing = 85, cost = 37 }\n")
        pm = 'pm = ["pm@agency.example"]         # previews'
        assert pm in mapping
        key = f"notify_client_on_flag = {'true' if notify else 'false'}\n"
        mapping = mapping.replace(pm, key + pm, 1)
        (tmp_path / "mapping.toml").write_text(mapping, encoding="utf-8")
        settings = app_settings(
            db_url,
            mappings=str(tmp_path / "mapping.toml"),
            smtp_url=f"smtp://127.0.0.1:{port}",
            mail_from="Scopewatch <digest@agency.example>",
            secret_key=SECRET_KEY,
            jira_url=site.url,
        )
        self.now = NOW
        self.rt = Runtime.from_settings(Settings(**settings), clock=lambda: self.now)
        self.site = site
        self.jira = make_client(site, self.rt.mapping)
        self.round = PacedFlagNotices(self.rt)  # the worker's idle round

    def sync(self) -> None:
        """What Jira holds now is mirrored and flagged, as the hourly reconcile does."""
        reconcile(self.rt.engine, self.jira, self.rt.mapping, "ACME", since=None, now=self.now)

    def flag(self, summary: str, hours: int) -> str:
        key = self.site.create_issue(
            "ACME",
            summary,
            "Story",
            assignee={"accountId": DEVELOPER},
            timetracking={"originalEstimate": f"{hours}h"},
        )
        self.sync()
        return key

    def web(self) -> Any:
        return create_app(self.rt).test_client()


@pytest.fixture
def agency(db_url: str, tmp_path: Path, site: JiraSite, sink: tuple[ScriptedSink, int]) -> Any:
    agency = Agency(db_url, tmp_path, site, sink[1], notify=True)
    yield agency
    agency.rt.close()


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def html_of(msg: EmailMessage) -> str:
    body = msg.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def listed(msg: EmailMessage) -> list[str]:
    return re.findall(r"^(ACME-\d+) ", text_of(msg), re.M)


def link(msg: EmailMessage, key: str, word: str) -> str:
    found = re.search(rf"^{key} [^\n]*\n(?:  [^\n]*\n)*?  {word}: +(\S+)$", text_of(msg), re.M)
    assert found, f"no {word} link for {key}"
    return found.group(1).removeprefix("http://127.0.0.1:8080")


def by_recipient(messages: list[EmailMessage]) -> dict[str, EmailMessage]:
    found = {str(m["To"]): m for m in messages}
    assert len(found) == len(messages), "one message per recipient"
    return found


def page(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_with_the_key_off_no_note_goes(db_url, tmp_path, site, sink):
    handler, port = sink
    agency = Agency(db_url, tmp_path, site, port, notify=False)
    try:
        agency.sync()
        go_live(agency.rt.engine, "ACME")
        assert agency.round() == 0
        assert handler.messages() == []
    finally:
        agency.rt.close()


def test_each_recipient_gets_one_daily_note_of_what_was_flagged_since_the_last(agency, sink):
    handler, _ = sink
    agency.sync()
    go_live(agency.rt.engine, "ACME")

    # The first note lists every pending change no note has listed yet: the seed's three.
    assert agency.round() == 2
    first = by_recipient(handler.messages())
    assert set(first) == {CLIENT, CFO}
    assert all(listed(m) == SEEDED for m in first.values())
    assert str(first[CLIENT]["Subject"]) == "[ACME] 3 new scope changes await your decision"

    # Next day: two changes flagged since.
    agency.now = NOW + timedelta(days=1)
    sso = agency.flag("Passkey login", 6)
    audit = agency.flag("Audit log export", 4)
    assert agency.round() == 2
    second = by_recipient(handler.messages()[2:])
    for recipient, msg in second.items():
        assert listed(msg) == [sso, audit]
        text = text_of(msg)
        assert f"{sso} Passkey login: 6 h, €510" in text
        assert f"In Jira: {agency.site.url}/browse/{sso}" in text
        assert f'href="{agency.site.url}/browse/{audit}"' in html_of(msg)
        # The billing price only: no cost rate (37), internal cost (222) or margin (288).
        shown = (text + re.sub(r"<[^>]*>", " ", html_of(msg))).lower()
        for internal in ("€37", "222", "288", "margin", "cost rate"):
            assert internal not in shown, (recipient, internal)
    ids = [str(m["Message-ID"]) for m in handler.messages()]
    assert len(set(ids)) == 4

    # The same day again, past the worker's pace, with one more change: it waits for tomorrow.
    agency.now = NOW + timedelta(days=1, hours=3)
    later = agency.flag("Bulk price update", 3)
    assert agency.round() == 0
    assert len(handler.messages()) == 4

    # The CFO follows their link: the page asks, only the POST decides, as the CFO.
    web = agency.web()
    approve = link(second[CFO], sso, "Approve")
    for _ in range(2):  # a mail scanner, then the CFO
        shown = web.get(approve)
        assert shown.status_code == 200
        assert f"Approve {sso}?" in page(shown) and f"Deciding as {CFO}" in page(shown)
    with agency.rt.engine.connect() as conn:
        assert change_by_key(conn, "ACME", sso).decision == "pending"
    # The link names its decider: a recipient field slipped into the form changes nothing.
    done = web.post(approve, data={"recipient": CLIENT})
    assert done.status_code == 200 and f"{sso} is approved." in page(done)
    with agency.rt.engine.connect() as conn:
        decided = change_by_key(conn, "ACME", sso)
    assert (decided.decision, decided.decided_by, decided.decision_channel) == (
        "approved",
        CFO,
        "email",
    )
    # The client's own link for the other change works the same way.
    reject = link(second[CLIENT], audit, "Reject")
    assert f"Deciding as {CLIENT}" in page(web.get(reject))

    # The day after: only the change flagged since the last note is listed.
    agency.now = NOW + timedelta(days=2)
    assert agency.round() == 2
    third = by_recipient(handler.messages()[4:])
    assert all(listed(m) == [later] for m in third.values())
    assert str(third[CFO]["Subject"]) == "[ACME] 1 new scope change awaits your decision"
    agency.now = NOW + timedelta(days=3)
    assert agency.round() == 0  # nothing flagged since: no mail


def test_observe_mode_mails_no_one_and_going_live_lists_what_waited(agency, sink):
    handler, _ = sink
    agency.sync()
    assert agency.round() == 0  # observe mode: not the client, not the PM
    assert handler.messages() == []
    with agency.rt.engine.connect() as conn:
        assert conn.execute(select(flag_notices)).all() == []

    agency.now = NOW + timedelta(hours=1)
    go_live(agency.rt.engine, "ACME", now=agency.now)
    assert agency.round() == 2
    assert [listed(m) for m in handler.messages()] == [SEEDED, SEEDED]


def test_a_note_claimed_by_a_worker_killed_mid_send_is_never_sent_again(agency, sink):
    handler, _ = sink
    agency.sync()
    go_live(agency.rt.engine, "ACME")
    with agency.rt.engine.begin() as conn:
        ids = [c.id for c in pending_changes(conn, "ACME")]
        for to in (CLIENT, CFO):  # what a worker killed between SMTP and its record leaves
            conn.execute(
                insert(flag_notices).values(
                    project_key="ACME", day=NOW.date(), recipient=to, change_ids=ids,
                    status="sending", message_id=f"<killed.{to}>", claimed_at=NOW,
                )
            )  # fmt: skip

    agency.now = NOW + timedelta(hours=2)
    assert agency.round() == 0  # that day's note may have gone: not again
    agency.now = NOW + timedelta(days=1)
    assert agency.round() == 0  # and its changes count as listed
    new = agency.flag("Invoice PDF", 2)
    agency.now = NOW + timedelta(days=1, hours=1)
    assert agency.round() == 2
    assert [listed(m) for m in handler.messages()] == [[new], [new]]


@pytest.mark.slow
def test_a_worker_killed_between_sending_and_recording_never_sends_that_note_again(
    sqlite_url, tmp_path, site, sink
):
    handler, port = sink
    agency = Agency(sqlite_url, tmp_path, site, port, notify=True)
    try:
        agency.sync()
        go_live(agency.rt.engine, "ACME")
    finally:
        agency.rt.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEWATCH_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "shifted"), str(ROOT)]),
        SCOPEWATCH_SHIFT_CLOCK_TO=NOW.isoformat(),  # 11:00 in Berlin, past ACME's digest hour
        SCOPEWATCH_DATABASE_URL=sqlite_url,
        SCOPEWATCH_MAPPINGS=str(tmp_path / "mapping.toml"),
        SCOPEWATCH_SMTP_URL=f"smtp://127.0.0.1:{port}",
        SCOPEWATCH_MAIL_FROM="digest@agency.example",
        SCOPEWATCH_SECRET_KEY=SECRET_KEY,
    )
    worker = [sys.executable, "-m", "service.cli", "worker", "--once"]
    # The client's note reaches the server, which never answers: the worker is killed waiting.
    handler.hold = {CLIENT}
    with processes.running(worker, env=env, cwd=ROOT, stdout=DEVNULL, stderr=DEVNULL) as proc:
        deadline = time.monotonic() + 90
        while handler.hold and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not handler.hold, "the worker sent the client no note"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL

    restarted = subprocess.run(
        worker, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert restarted.returncode == 0, restarted.stderr
    notes = [str(m["To"]) for m in handler.messages() if str(m["To"]) in (CLIENT, CFO)]
    assert notes == [CLIENT, CFO]  # the client's once (the killed worker's), then the CFO's
    assert "flag notes mailed: 1" in restarted.stdout


def test_three_workers_at_once_send_each_recipient_one_note(agency, sink):
    handler, _ = sink
    agency.sync()
    go_live(agency.rt.engine, "ACME")
    mailed: list[int] = []
    start = threading.Barrier(3)

    def worker() -> None:
        start.wait()
        mailed.append(run_flag_notices(agency.rt, NOW))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(mailed) == 2 and len(mailed) == 3
    assert sorted(str(m["To"]) for m in handler.messages()) == [CFO, CLIENT]


def test_a_refused_note_is_sent_again_that_day_under_its_message_id(agency, sink):
    handler, _ = sink
    agency.sync()
    go_live(agency.rt.engine, "ACME")
    handler.refuse[CFO] = "550 5.1.1 mailbox unavailable"
    assert agency.round() == 1
    assert [str(m["To"]) for m in handler.messages()] == [CLIENT]

    handler.refuse.clear()
    agency.now = NOW + timedelta(minutes=15)
    assert agency.round() == 1  # the CFO's, once; the client's is not sent again
    client, cfo = handler.messages()
    assert str(cfo["To"]) == CFO and listed(cfo) == SEEDED
    with agency.rt.engine.connect() as conn:
        rows = conn.execute(select(flag_notices.c.recipient, flag_notices.c.status)).all()
        kept = conn.execute(
            select(flag_notices.c.message_id).where(flag_notices.c.recipient == CFO)
        ).scalar_one()
    assert sorted(rows) == [(CFO, "sent"), (CLIENT, "sent")]
    assert str(cfo["Message-ID"]) == kept != str(client["Message-ID"])


# --- what is due, from plain data ----------------------------------------------------------------


def acme(**changes: Any) -> Project:
    project = load_mapping(ROOT / "mappings" / "sandbox.toml").project("ACME")
    assert project is not None
    digest = dataclasses.replace(project.digest, to=(CLIENT, CFO))
    return dataclasses.replace(
        project, **{"notify_client_on_flag": True, "digest": digest, **changes}
    )


def flagged(change_id: int) -> ScopeChange:
    return ScopeChange(
        id=change_id, project_key="ACME", issue_id=str(change_id), key=f"ACME-{change_id}",
        summary="New work", issue_type="Story", created=None, detected_at=NOW, hours=4.0,
        hours_source="estimate", cost=340.0, currency="EUR", schedule_days=None,
        decision="pending", decision_note=None, decided_at=None, withdrawn=False,
        impact_version=1, written_version=1,
    )  # fmt: skip


def due_keys(project: Project, pending: list[ScopeChange], noted: list[Noted], **kw: Any) -> Any:
    due = notes_due(project, live=kw.pop("live", True), pending=pending, noted=noted, **kw)
    return {to: [c.id for c in changes] for to, changes in due.items()}


def test_nothing_pending_nothing_due():
    assert due_keys(acme(), [], [], now=NOW) == {}


def test_only_a_live_project_with_the_key_on_is_due():
    pending = [flagged(1)]
    assert due_keys(acme(), pending, [], now=NOW) == {CLIENT: [1], CFO: [1]}
    assert due_keys(acme(), pending, [], now=NOW, live=False) == {}
    assert due_keys(acme(notify_client_on_flag=False), pending, [], now=NOW) == {}


def test_the_day_is_the_projects_and_it_starts_at_its_digest_hour():
    pending = [flagged(1)]
    # 06:59 UTC is 07:59 in Berlin, before ACME's digest hour (8): the day's changes still gather.
    early = NOW.replace(hour=6, minute=59)
    assert due_keys(acme(), pending, [], now=early) == {}
    assert due_keys(acme(), pending, [], now=early + timedelta(minutes=1)) == {
        CLIENT: [1],
        CFO: [1],
    }
    # 23:30 UTC on the 23rd is already the 24th in Berlin: that day's note was sent.
    sent = [Noted(NOW.date(), to, "sent", (1,)) for to in (CLIENT, CFO)]
    late = NOW.replace(day=23, hour=23, minute=30)
    assert due_keys(acme(), [*pending, flagged(2)], sent, now=late) == {}
    assert due_keys(acme(), [*pending, flagged(2)], sent, now=NOW + timedelta(days=1)) == {
        CLIENT: [2],
        CFO: [2],
    }


def test_a_refused_note_leaves_its_changes_and_its_day_to_be_tried_again():
    pending = [flagged(1), flagged(2)]
    noted = [
        Noted(NOW.date(), CLIENT, "sent", (1,)),
        Noted(NOW.date(), CFO, "failed", (1,)),
        Noted(NOW.date() - timedelta(days=1), CFO, "sending", (2,)),  # a killed sender's claim
    ]
    assert due_keys(acme(), pending, noted, now=NOW) == {CFO: [1]}
