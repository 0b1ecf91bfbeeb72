"""Risks the client should know about, and open questions waiting for an answer.

Some are raised by people in Jira (issue type Risk or label "risk"); the others are computed from
the figures, each with the threshold that raised it so the reader can judge it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from mappings.model import Project
from reports import formats, i18n
from reports.blockers import age_days
from reports.frames import map_distinct, rows_of, utc
from reports.period import Period
from reports.scope import waiting_since

CPI_ALARM = 0.9
BLOCKER_ALARM_DAYS = 5
DECISION_ALARM_DAYS = 7
# A client reads a handful of risks; a big project can have hundreds of old blockers. The worst
# few of each kind are named, the rest counted (the blockers section still lists every one).
MAX_NAMED = 5


def _tagged(state: pd.DataFrame, word: str) -> pd.Series:
    """Open issues of type `word` or labelled `word`, case-insensitively."""
    # per distinct value: tens of thousands of issues share a handful of types and label sets
    by_type = map_distinct(
        state["issue_type"], lambda t: isinstance(t, str) and t.casefold() == word
    )
    by_label = map_distinct(
        state["labels"], lambda labels: word in {x.casefold() for x in labels or ()}
    )
    return state[(by_type.astype(bool) | by_label.astype(bool)) & ~state["done"]]


def raised_risks(state: pd.DataFrame, locale: str = formats.DEFAULT_LOCALE) -> list[dict[str, str]]:
    t = i18n.texts(locale)
    risks = _tagged(state, "risk").sort_values("key")
    return [
        {"title": r.summary, "why": t._("Raised in Jira as %(key)s.", key=r.key)}
        for r in risks.itertuples()
    ]


def calculate_risks(
    state: pd.DataFrame,
    project: Project,
    period: Period,
    *,
    cpi: float | None,
    runway: date | None,
    blockers: list[dict[str, Any]],
    changes: pd.DataFrame,
    locale: str = formats.DEFAULT_LOCALE,
) -> list[dict[str, str]]:
    """Raised risks first, then computed ones: cost, runway, old blockers, waiting decisions.

    `changes` are the scope changes as of the period's end (`scope.changes_at`); `locale` is
    the one the reasons' figures and dates are written in.
    """
    t = i18n.texts(locale)
    risks = raised_risks(state, locale)
    if cpi is not None and cpi < CPI_ALARM:
        risks.append({
            "title": t._("Delivery is costing more than planned"),
            "why": t._(
                "The cost performance index is %(cpi)s, below the %(alarm)s alarm line: each "
                "unit of money spent delivered %(cpi)s of planned work.",
                cpi=formats.number(cpi, locale, 2),
                alarm=formats.number(CPI_ALARM, locale, 2),
            ),
        })  # fmt: skip
    if runway is not None and runway < project.end:
        risks.append({
            "title": t._("The budget may run out before the end date"),
            "why": t._(
                "At the last four weeks' spending the money lasts until %(runway)s, before the "
                "planned end on %(end)s.",
                runway=formats.date(runway, locale),
                end=formats.date(project.end, locale),
            ),
        })  # fmt: skip
    old = sorted(
        (b for b in blockers if b["age_days"] is not None and b["age_days"] > BLOCKER_ALARM_DAYS),
        key=lambda b: (-b["age_days"], b["key"]),
    )
    risks += [
        {
            "title": t.ngettext(
                "%(key)s has been blocked for %(num)s day",
                "%(key)s has been blocked for %(num)s days",
                b["age_days"],
                key=b["key"],
            ),
            "why": (
                t._("Waiting on the client: %(summary)s", summary=b["summary"])
                if b["waiting_on"] == "client"
                else t._("Waiting on the team: %(summary)s", summary=b["summary"])
            ),
        }
        for b in old[:MAX_NAMED]
    ]
    if len(old) > MAX_NAMED:
        more = len(old) - MAX_NAMED
        risks.append({
            "title": t.ngettext(
                "%(num)s more item blocked for over %(days)s days",
                "%(num)s more items blocked for over %(days)s days",
                more,
                days=BLOCKER_ALARM_DAYS,
            ),
            "why": t._("Each is listed under blockers, with whom it is waiting on."),
        })  # fmt: skip
    return risks + _waiting_decisions(changes, period, t)


def _waiting_decisions(
    changes: pd.DataFrame, period: Period, t: i18n.Texts
) -> list[dict[str, str]]:
    end = utc(period.as_of_utc)
    pending = changes[changes["decision"] == "pending"].sort_values(["born", "key"])
    since = waiting_since(pending, end)
    # `age_days` of the whole column at once: thousands of changes can be pending, five are named
    waited = (end - since).dt.total_seconds() // 86400  # NaN when not known
    overdue = pending.assign(days=waited)[waited > DECISION_ALARM_DAYS]
    risks = [
        {
            "title": t._("A decision on %(key)s is overdue", key=c.key),
            "why": t.ngettext(
                'The scope change "%(summary)s" has waited %(num)s day for approval or rejection.',
                'The scope change "%(summary)s" has waited %(num)s days for approval or rejection.',
                int(c.days),
                summary=c.summary,
            ),
        }
        for c in overdue[["key", "summary", "days"]].head(MAX_NAMED).itertuples()
    ]
    if len(overdue) > MAX_NAMED:
        risks.append({
            "title": t.ngettext(
                "%(num)s more scope change awaits a decision",
                "%(num)s more scope changes await a decision",
                len(overdue) - MAX_NAMED,
            ),
            "why": t._(
                "Each has waited over %(days)s days; they are listed under scope.",
                days=DECISION_ALARM_DAYS,
            ),
        })  # fmt: skip
    return risks


def calculate_questions(state: pd.DataFrame, period: Period) -> list[dict[str, Any]]:
    """Open questions (type Question or label "question"), oldest first."""
    end = utc(period.as_of_utc)
    questions = _tagged(state, "question").sort_values(["created", "key"])
    return [
        {"key": q.key, "summary": q.summary, "age_days": age_days(q.created, end)}
        for q in rows_of(questions[["key", "summary", "created"]])
    ]
