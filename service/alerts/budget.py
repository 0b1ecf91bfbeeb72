"""Budget alerts, sent: the worker's run computes each project's burn, mails the PM the alerts
`reports.alerts` says are due, and records them in `budget_alerts` (the only writer), so each is
sent once and the weekly repeats count from the last one. The client's copies (a live project
with `alerts_to_client`) have rows of their own there ("client-90"), claimed before sending.

The burn is the digest's, for the week holding `now`: the same money, the same rules (rates of
the day, non-billable work left out, approved changes added to the budget).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from mappings.model import Mapping, Project
from reports.alerts import (
    Alert,
    Sent,
    alert_mail,
    client_alert_mail,
    due_alerts,
    due_client_copies,
)
from reports.period import week_name
from reports.rates import local_day
from service.digest.load import digest_for
from service.mailer import Mailer
from service.projects.modes import state
from service.runtime import Paced, Runtime
from service.store import schema
from service.store.engine import reader

log = logging.getLogger(__name__)
_a = schema.budget_alerts.c


def sent_alerts(conn: Connection, project_key: str) -> list[Sent]:
    rows = conn.execute(
        select(_a.threshold, _a.budget, _a.last_sent_at).where(_a.project_key == project_key)
    ).all()
    return [Sent(str(t), str(b), at) for t, b, at in rows]


@dataclass(frozen=True)
class _Burn:
    total: float
    spent: float
    eac: float | None
    sent: list[Sent]
    live: bool


def _burn(engine: Engine, mapping: Mapping, project: Project, now: datetime) -> _Burn:
    week = week_name(local_day(now, project))
    with reader(engine) as conn:
        digest = digest_for(conn, mapping, project.key, week)
        sent = sent_alerts(conn, project.key)
        live = state(conn, project.key).mode == "live"
    budget = digest["budget"]
    total, spent = float(budget["total"]), float(budget["spent"])
    return _Burn(total, spent, budget["evm"]["eac"], sent, live)


def run_alerts(engine: Engine, mapping: Mapping, mailer: Mailer | None, now: datetime) -> int:
    """Mail every alert due, to each project's `pm` (and the client's copies the mapping asks
    for); returns how many mails went out."""
    if mailer is None:
        return 0
    mailed = 0
    for project in mapping.projects:
        if not project.pm and not _to_client(project):
            continue
        try:
            mailed += _project_alerts(engine, mapping, mailer, project, now)
        except Exception:  # one project's broken data must not stop the others' alerts
            log.exception("budget alerts of %s failed", project.key, extra={"project": project.key})
    return mailed


def _to_client(project: Project) -> bool:
    return project.alerts_to_client and bool(project.digest.to)


def _project_alerts(
    engine: Engine, mapping: Mapping, mailer: Mailer, project: Project, now: datetime
) -> int:
    burn = _burn(engine, mapping, project, now)
    mailed = 0
    if project.pm:
        due = due_alerts(
            project, total=burn.total, spent=burn.spent, eac=burn.eac, sent=burn.sent, now=now
        )
        for alert in due:
            if _send(mailer, project, alert):
                _record(engine, alert, now)
                mailed += 1
    if _to_client(project) and burn.live:  # observe mode never mails the client
        copies = due_client_copies(project, total=burn.total, spent=burn.spent, sent=burn.sent)
        mailed += sum(_send_client_copy(engine, mailer, project, a, now) for a in copies)
    return mailed


def _message(mailer: Mailer, to: tuple[str, ...], subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mailer.mail_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="scopewatch")
    msg.set_content(text)
    return msg


def _send(mailer: Mailer, project: Project, alert: Alert) -> bool:
    result = mailer.send(_message(mailer, project.pm, *alert_mail(project, alert)))
    if not result.ok:
        log.warning("budget alert %s %s not sent: %s", project.key, alert.threshold, result.error)
    return result.ok


def _send_client_copy(
    engine: Engine, mailer: Mailer, project: Project, alert: Alert, now: datetime
) -> int:
    """The client's copy, sent at most once: its rows in `budget_alerts` are claimed before the
    mail goes (a second worker's claim fails on the key), and released if the mail fails, so the
    next run tries again."""
    msg = _message(mailer, project.digest.to, *client_alert_mail(project, alert))
    if project.pm:
        msg["Reply-To"] = ", ".join(project.pm)  # the client answers the agency's people
    if not _claim(engine, alert, now):
        return 0
    result = mailer.send(msg)
    if not result.ok:
        log.warning("client budget alert %s %s not sent: %s", project.key, alert.threshold,
                    result.error)  # fmt: skip
        _release(engine, alert)
        return 0
    return 1


def _keys(alert: Alert) -> list[dict[str, str]]:
    return [
        {"project_key": alert.project, "threshold": mark, "budget": alert.budget}
        for mark in alert.marks
    ]


def _claim(engine: Engine, alert: Alert, now: datetime) -> bool:
    rows = [
        {**key, "burn_pct": alert.burn_pct, "first_sent_at": now, "last_sent_at": now, "sends": 1}
        for key in _keys(alert)
    ]
    try:
        with engine.begin() as conn:
            conn.execute(insert(schema.budget_alerts), rows)
    except IntegrityError:
        return False  # claimed by another run: that one sends it
    return True


def _release(engine: Engine, alert: Alert) -> None:
    with engine.begin() as conn:
        for key in _keys(alert):
            conn.execute(
                delete(schema.budget_alerts).where(*(getattr(_a, k) == v for k, v in key.items()))
            )


def _record(engine: Engine, alert: Alert, now: datetime) -> None:
    with engine.begin() as conn:
        for threshold in alert.marks:
            key = {"project_key": alert.project, "threshold": threshold, "budget": alert.budget}
            found = conn.execute(
                select(_a.sends).where(*(getattr(_a, k) == v for k, v in key.items()))
            ).scalar()
            row = {
                **key,
                "burn_pct": alert.burn_pct,
                "first_sent_at": now,
                "last_sent_at": now,
                "sends": 1,
            }
            if found is not None:
                conn.execute(
                    schema.budget_alerts.update()
                    .where(*(getattr(_a, k) == v for k, v in key.items()))
                    .values(burn_pct=alert.burn_pct, last_sent_at=now, sends=int(found) + 1)
                )
            else:
                conn.execute(insert(schema.budget_alerts).values(row))


class PacedAlerts(Paced):
    """`run_alerts` for a worker loop, at the pace of `Paced`."""

    def __init__(self, rt: Runtime, every: timedelta = timedelta(minutes=10)) -> None:
        super().__init__(rt, _alerts_now, every=every, name="budget alerts")


def _alerts_now(rt: Runtime, now: datetime) -> int:
    return run_alerts(rt.engine, rt.mapping, rt.mailer, now)
