"""Budget alerts reach the PM through a real SMTP conversation: once per crossing, weekly while
over 90 %, afresh when the budget is raised, and never after the project has ended."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from mappings.model import Project
from reports.alerts import Sent, due_alerts
from service.alerts.budget import run_alerts
from service.mailer import Mailer
from service.store import schema
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.money.test_money_history import NOW, at, seed
from tests.smtp_sink import ScriptedSink as Sink
from tests.support import go_live


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def mailer(sink: Sink) -> Iterator[Mailer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield Mailer(f"smtp://127.0.0.1:{port}", "alerts@agency.example", retries=0)
    controller.stop()


@pytest.fixture(autouse=True)
def _quiet_aiosmtpd(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mail.log")


def subjects(sink: Sink) -> list[str]:
    return [str(m["Subject"]) for m in sink.messages()]


def log_more(engine, hours: int, started: datetime, id_: str = "more") -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(schema.worklogs).values(
                id=id_, issue_id="1", author="ann", started=started, seconds=hours * 3600,
                updated=started, deleted=False,
            )
        )  # fmt: skip


def test_each_crossing_is_mailed_once_and_over_90_weekly(engine, tmp_path, mailer, sink):
    mapping = money_mapping(tmp_path)
    seed(engine)  # 810.38 of 1000 spent: past 50 and 75

    assert run_alerts(engine, mapping, mailer, NOW) == 1
    assert subjects(sink) == ["MONEY: 81% of the budget spent"]
    message = sink.messages()[0]
    assert message["To"] == "pm@agency.example" and message["From"] == "alerts@agency.example"
    body = message.get_content()
    assert "has spent €810.38 of its budget of €1,000 (81%); €189.62 remain." in body
    assert sink.delivered[0].rcpt_tos == ["pm@agency.example"]

    assert run_alerts(engine, mapping, mailer, NOW + timedelta(hours=1)) == 0  # once

    log_more(engine, 2, at(2027, 1, 4, 9))  # +240: 1050.38, past 90 and 100 at once
    later = NOW + timedelta(hours=2)
    assert run_alerts(engine, mapping, mailer, later) == 1
    assert subjects(sink)[-1] == "MONEY: 105% of the budget spent"
    assert run_alerts(engine, mapping, mailer, later + timedelta(days=6)) == 0
    assert run_alerts(engine, mapping, mailer, later + timedelta(days=7)) == 1
    assert subjects(sink)[-1] == "MONEY: 105% of the budget spent (still)"
    assert "repeats weekly" in sink.messages()[-1].get_content()
    assert len(sink.messages()) == 3

    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.budget_alerts.c.threshold, schema.budget_alerts.c.sends)
        ).all()
    assert sorted(rows) == [("100", 2), ("50", 1), ("75", 1), ("90", 1)]

    # The budget raised to 2000: 52.5 % crosses 50 of the new budget, and the repeats stop.
    raised = money_mapping(tmp_path, MAPPING_TOML.replace("budget = 1000", "budget = 2000"))
    assert run_alerts(engine, raised, mailer, later + timedelta(days=8)) == 1
    assert subjects(sink)[-1] == "MONEY: 53% of the budget spent"
    assert run_alerts(engine, raised, mailer, later + timedelta(days=15)) == 0


def test_no_weekly_repeat_after_the_project_has_ended(tmp_path):
    project = money_mapping(tmp_path).project("MONEY")
    assert isinstance(project, Project)
    sent = [Sent("100", "1000", at(2027, 2, 19, 9))]
    after_end = at(2027, 3, 1, 9)
    assert due_alerts(project, total=1000, spent=1100, eac=None, sent=sent, now=after_end) == []
    before_end = at(2027, 2, 27, 0) - timedelta(minutes=1)
    again = due_alerts(project, total=1000, spent=1100, eac=None, sent=sent, now=before_end)
    assert [(a.threshold, a.repeat) for a in again] == [("100", True)]


def test_a_forecast_overrun_is_mailed_once_per_budget(tmp_path):
    project = money_mapping(tmp_path).project("MONEY")
    assert isinstance(project, Project)
    now = at(2027, 1, 5, 9)
    first = due_alerts(project, total=1000, spent=300, eac=1250.5, sent=[], now=now)
    assert [(a.threshold, a.marks) for a in first] == [("forecast", ("forecast",))]
    sent = [Sent("forecast", "1000", now)]
    assert due_alerts(project, total=1000, spent=300, eac=1250.5, sent=sent, now=now) == []
    assert due_alerts(project, total=1000, spent=300, eac=990, sent=[], now=now) == []


def test_the_worker_round_mails_once_and_then_keeps_its_pace(db_url, tmp_path, mailer, sink):
    from service.alerts.budget import PacedAlerts
    from service.runtime import Runtime
    from service.settings import Settings

    path = tmp_path / "money.toml"
    path.write_text(MAPPING_TOML)
    settings = Settings(
        database_url=db_url,
        mappings=str(path),
        smtp_url=mailer.smtp_url,
        mail_from="alerts@agency.example",
    )
    now = [NOW]
    rt = Runtime.from_settings(settings, clock=lambda: now[0])
    try:
        seed(rt.engine)
        paced = PacedAlerts(rt, every=timedelta(minutes=10))
        assert paced() == 1  # the worker's next run after the crossing
        log_more(rt.engine, 2, at(2027, 1, 4, 9))  # now past 100 %
        now[0] = NOW + timedelta(minutes=5)
        assert paced() == 0  # not yet: a round every ten minutes
        now[0] = NOW + timedelta(minutes=10)
        assert paced() == 1
        assert subjects(sink) == [
            "MONEY: 81% of the budget spent",
            "MONEY: 105% of the budget spent",
        ]
    finally:
        rt.close()


def test_the_pm_sees_the_alerts_sent_the_unbilled_work_and_the_margin(engine, tmp_path, mailer):
    from service.alerts.status import money_status

    mapping = money_mapping(tmp_path)
    seed(engine)
    run_alerts(engine, mapping, mailer, NOW)
    status = money_status(engine, mapping, "MONEY", NOW)
    assert f"{status['spent']:.2f}" == "810.38"
    assert [(a["threshold"], a["sends"]) for a in status["alerts_sent"]] == [("50", 1), ("75", 1)]
    assert status["non_billable"]["hours"] == 4.0
    # zed (default rate) has no cost rate: the agency's cost and margin are unknown, not zero
    assert status["internal"]["cost"] is None and status["internal"]["margin"] is None


CLIENT_TOML = MAPPING_TOML.replace(
    'digest = { tz = "Europe/Berlin" }',
    'digest = { tz = "Europe/Berlin", to = ["sponsor@money.example"] }\nalerts_to_client = true',
)


def client_mails(sink: Sink) -> list:
    return [m for m in sink.messages() if m["To"] == "sponsor@money.example"]


def test_the_client_gets_one_copy_of_the_90_and_100_crossings_in_its_words(
    engine, tmp_path, mailer, sink
):
    mapping = money_mapping(tmp_path, CLIENT_TOML)
    seed(engine)  # 81 %: the PM hears of 50 and 75; the client of nothing yet
    go_live(engine, "MONEY")
    assert run_alerts(engine, mapping, mailer, NOW) == 1 and client_mails(sink) == []

    log_more(engine, 1, at(2027, 1, 4, 9))  # +120: 930.38, past 90
    assert run_alerts(engine, mapping, mailer, NOW + timedelta(hours=1)) == 2
    [copy] = client_mails(sink)
    assert copy["Subject"] == "Money Ltd: 93% of the agreed budget used"
    assert copy["Reply-To"] == "pm@agency.example"
    assert ["sponsor@money.example"] in [e.rcpt_tos for e in sink.delivered]
    body = copy.get_content()
    assert "has now used €930.38 of the agreed budget of €1,000 (93%); €69.62 remain." in body
    assert "passes 90%" in body

    # Once per crossing; the PM's weekly repeat has no client copy.
    later = NOW + timedelta(hours=2)
    assert run_alerts(engine, mapping, mailer, later) == 0
    assert run_alerts(engine, mapping, mailer, later + timedelta(days=7)) == 1
    assert len(client_mails(sink)) == 1

    log_more(engine, 1, at(2027, 1, 4, 10), id_="more2")  # 1050.38: past 100
    assert run_alerts(engine, mapping, mailer, later + timedelta(days=8)) == 2
    assert [m["Subject"] for m in client_mails(sink)][-1] == (
        "Money Ltd: 105% of the agreed budget used"
    )
    assert "€50.38 over the agreed budget" in client_mails(sink)[-1].get_content()
    assert run_alerts(engine, mapping, mailer, later + timedelta(days=9)) == 0
    assert len(client_mails(sink)) == 2


def test_observe_mode_never_mails_the_client_and_going_live_tells_it_once(
    engine, tmp_path, mailer, sink
):
    mapping = money_mapping(tmp_path, CLIENT_TOML)
    seed(engine)
    log_more(engine, 2, at(2027, 1, 4, 9))  # 1050.38: past 90 and 100 at once
    assert run_alerts(engine, mapping, mailer, NOW) == 1  # the PM only
    assert client_mails(sink) == []
    go_live(engine, "MONEY")
    assert run_alerts(engine, mapping, mailer, NOW + timedelta(hours=1)) == 1
    assert [m["Subject"] for m in client_mails(sink)] == [
        "Money Ltd: 105% of the agreed budget used"
    ]  # one copy, for the highest crossing
    assert run_alerts(engine, mapping, mailer, NOW + timedelta(hours=2)) == 0


def test_a_client_copy_that_fails_is_sent_by_the_next_run(engine, tmp_path, mailer, sink):
    mapping = money_mapping(tmp_path, CLIENT_TOML.replace("pm = [", "# pm = ["))
    seed(engine)
    log_more(engine, 1, at(2027, 1, 4, 9))  # 930.38: past 90
    go_live(engine, "MONEY")
    sink.data_replies = ["554 5.7.1 try again later"]
    assert run_alerts(engine, mapping, mailer, NOW) == 0
    assert run_alerts(engine, mapping, mailer, NOW + timedelta(hours=1)) == 1
    assert run_alerts(engine, mapping, mailer, NOW + timedelta(hours=2)) == 0
    assert [m["To"] for m in sink.messages()] == ["sponsor@money.example"]
