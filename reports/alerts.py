"""Budget alerts: which ones are due, and what the PM reads. Pure: sent alerts in, alerts out.

Harvest's semantics, which PMs know: each threshold of `alerts` (% of the budget, default
50/75/90/100) mails the PM the first time spending crosses it, once. While spending stays at or
above 90 %, the highest threshold crossed is mailed again every week, until the budget is raised
(a new budget total starts afresh) or the project has ended. A separate alert says when the
expected final cost (EVM's EAC) passes the budget, once per budget total.

A jump past several thresholds at once sends one mail, for the highest, and counts the lower
ones as sent: nobody needs "50 %" and "75 %" mails on the morning they get "90 %".

With `alerts_to_client = true` the client's digest recipients also get a copy of the 90 % and
100 % first crossings (those of `alerts`), worded for them: billing figures only, no forecast,
no cost, no margin. Once per crossing and budget, like the PM's, but never repeated weekly (the
weekly reminder is the PM's nudge to act, not news for the client) and never the forecast alert
(a forecast of overrun is the agency's to discuss first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from mappings.model import Project
from reports import formats
from reports.rates import local_day, money

FORECAST = "forecast"
CLIENT_COPY = "client-"  # a client copy's threshold in `budget_alerts`: "client-90"
CLIENT_THRESHOLDS = (90.0, 100.0)  # the crossings the client hears of
REPEAT_FROM = 90.0  # % of the budget from which an alert repeats weekly
REPEAT_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class Sent:
    """An alert already mailed: a row of `budget_alerts`."""

    threshold: str  # "50", "90", "forecast"
    budget: str  # the budget total it was about, exactly
    last_sent_at: datetime


@dataclass(frozen=True)
class Alert:
    project: str
    threshold: str  # the one the mail is about
    marks: tuple[str, ...]  # every threshold this mail counts as sent
    repeat: bool
    budget: str  # the budget total, exact text
    total: float
    spent: float
    eac: float | None

    @property
    def burn_pct(self) -> float:
        return self.spent / self.total * 100 if self.total > 0 else 0.0


def budget_key(total: float) -> str:
    """The budget total as exact text: the alert history is per budget, raised = new history."""
    return str(money(total))


def threshold_name(pct: float) -> str:
    return f"{pct:g}"


def due_alerts(
    project: Project,
    *,
    total: float,
    spent: float,
    eac: float | None,
    sent: Iterable[Sent],
    now: datetime,
) -> list[Alert]:
    """The alerts to mail now for `project`, given what was already sent."""
    if total <= 0:
        return []
    budget = budget_key(total)
    history = {s.threshold: s for s in sent if s.budget == budget}
    burn = spent / total * 100
    crossed = [p for p in project.alerts if burn >= p]
    due: list[Alert] = []

    def alert(threshold: str, marks: tuple[str, ...], repeat: bool) -> Alert:
        return Alert(project.key, threshold, marks, repeat, budget, total, spent, eac)

    closed = local_day(now, project) > project.end
    if crossed:
        top = threshold_name(crossed[-1])
        new = tuple(threshold_name(p) for p in crossed if threshold_name(p) not in history)
        if top not in history:
            due.append(alert(top, new, repeat=False))
        elif (
            crossed[-1] >= REPEAT_FROM
            and not closed
            and now - history[top].last_sent_at >= REPEAT_EVERY
        ):
            due.append(alert(top, (top,), repeat=True))
    if eac is not None and eac > total and FORECAST not in history and not closed:
        due.append(alert(FORECAST, (FORECAST,), repeat=False))
    return due


def due_client_copies(
    project: Project, *, total: float, spent: float, sent: Iterable[Sent]
) -> list[Alert]:
    """The client copy to mail now, if the mapping asks for them: a first crossing of 90 % or
    100 % of this budget not yet told to the client (a jump past both: one copy, for 100 %)."""
    if not project.alerts_to_client or total <= 0:
        return []
    budget = budget_key(total)
    told = {s.threshold for s in sent if s.budget == budget}
    burn = spent / total * 100
    names = [
        CLIENT_COPY + threshold_name(p)
        for p in project.alerts
        if p in CLIENT_THRESHOLDS and burn >= p
    ]
    if not names or names[-1] in told:
        return []
    marks = tuple(n for n in names if n not in told)
    return [Alert(project.key, names[-1], marks, False, budget, total, spent, None)]


def client_alert_mail(project: Project, alert: Alert) -> tuple[str, str]:
    """Subject and text of the client's copy, in the client's locale: what was billed against
    the agreed budget, nothing the agency keeps to itself."""

    def m(amount: float | Decimal) -> str:
        return formats.money(amount, project.currency, project.locale)

    pct = formats.percent(alert.burn_pct, project.locale, 0)
    threshold = formats.percent(float(alert.threshold.removeprefix(CLIENT_COPY)), project.locale)
    subject = f"{project.client}: {pct} of the agreed budget used"
    left = alert.total - alert.spent
    rest = f"{m(left)} remain" if left >= 0 else f"{m(-left)} over the agreed budget"
    lines = [
        f"Dear {project.client},",
        f"The work on {project.key} has now used {m(alert.spent)} of the agreed budget of "
        f"{m(alert.total)} ({pct}); {rest}.",
        "Your project manager will be in touch about the work still to do and how you would "
        "like to go on.",
        f"This notice is sent once, when the budget used passes {threshold}.",
    ]
    return subject, "\n\n".join(lines) + "\n"


def alert_mail(project: Project, alert: Alert) -> tuple[str, str]:
    """Subject and text of the mail to the PM."""

    def m(amount: float | Decimal) -> str:
        return formats.money(amount, project.currency, project.locale)

    pct = formats.percent(alert.burn_pct, project.locale, 0)
    if alert.threshold == FORECAST:
        subject = f"{project.key}: forecast to overrun its budget"
        first = (
            f"At the cost efficiency so far, {project.client} ({project.key}) is expected to "
            f"cost {m(alert.eac or 0)} in all, over its budget of {m(alert.total)}."
        )
    else:
        again = " (still)" if alert.repeat else ""
        subject = f"{project.key}: {pct} of the budget spent{again}"
        first = (
            f"{project.client} ({project.key}) has spent {m(alert.spent)} of its budget of "
            f"{m(alert.total)} ({pct}); {m(alert.total - alert.spent)} remain."
        )
        if alert.repeat:
            first += " This reminder repeats weekly until the budget is raised or the project ends."
    lines = [first]
    if alert.eac is not None and alert.threshold != FORECAST:
        lines.append(f"Expected final cost at the efficiency so far: {m(alert.eac)}.")
    return subject, "\n\n".join(lines) + "\n"
