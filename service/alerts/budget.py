"""Budget alerts, sent: the worker's run computes each project's burn, mails the PM the alerts
`reports.alerts` says are due, and records them in `budget_alerts` (the only writer), so each is
sent once and the weekly repeats count from the last one.

The burn is the digest's, for the week holding `now`: the same money, the same rules (rates of
the day, non-billable work left out, approved changes added to the budget).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import Connection, Engine, insert, select

from mappings.model import Mapping, Project
from reports.alerts import Alert, Sent, alert_mail, due_alerts
from reports.period import week_name
from reports.rates import local_day
from service.digest.load import digest_for
from service.mailer import Mailer
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


def alerts_due(engine: Engine, mapping: Mapping, project: Project, now: datetime) -> list[Alert]:
    """What is due for `project` now, from the mirror and the alerts already sent."""
    week = week_name(local_day(now, project))
    with reader(engine) as conn:
        digest = digest_for(conn, mapping, project.key, week)
        sent = sent_alerts(conn, project.key)
    budget = digest["budget"]
    return due_alerts(
        project,
        total=float(budget["total"]),
        spent=float(budget["spent"]),
        eac=budget["evm"]["eac"],
        sent=sent,
        now=now,
    )


def run_alerts(engine: Engine, mapping: Mapping, mailer: Mailer | None, now: datetime) -> int:
    """Mail every alert due, to each project's `pm`; returns how many mails went out."""
    if mailer is None:
        return 0
    mailed = 0
    for project in mapping.projects:
        if not project.pm:
            continue
        try:
            for alert in alerts_due(engine, mapping, project, now):
                if _send(mailer, project, alert):
                    _record(engine, alert, now)
                    mailed += 1
        except Exception:  # one project's broken data must not stop the others' alerts
            log.exception("budget alerts of %s failed", project.key, extra={"project": project.key})
    return mailed


def _send(mailer: Mailer, project: Project, alert: Alert) -> bool:
    subject, text = alert_mail(project, alert)
    msg = EmailMessage()
    msg["From"] = mailer.mail_from
    msg["To"] = ", ".join(project.pm)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="scopewatch")
    msg.set_content(text)
    result = mailer.send(msg)
    if not result.ok:
        log.warning("budget alert %s %s not sent: %s", project.key, alert.threshold, result.error)
    return result.ok


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
