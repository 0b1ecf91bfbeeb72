"""Risks the client should know about, and open questions waiting for an answer.

Some are raised by people in Jira (issue type Risk or label "risk"); the others are computed from
the figures, each with the threshold that raised it so the reader can judge it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from mappings.model import Project
from reports import formats
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


def raised_risks(state: pd.DataFrame) -> list[dict[str, str]]:
    risks = _tagged(state, "risk").sort_values("key")
    return [{"title": r.summary, "why": f"Raised in Jira as {r.key}."} for r in risks.itertuples()]


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
    risks = raised_risks(state)
    if cpi is not None and cpi < CPI_ALARM:
        risks.append({
            "title": "Delivery is costing more than planned",
            "why": f"The cost performance index is {formats.number(cpi, locale, 2)}, below the "
            f"{formats.number(CPI_ALARM, locale, 2)} alarm line: each unit of money spent "
            f"delivered {formats.number(cpi, locale, 2)} of planned work.",
        })  # fmt: skip
    if runway is not None and runway < project.end:
        risks.append({
            "title": "The budget may run out before the end date",
            "why": "At the last four weeks' spending the money lasts until "
            f"{formats.date(runway, locale)}, before the planned end on "
            f"{formats.date(project.end, locale)}.",
        })  # fmt: skip
    old = sorted(
        (b for b in blockers if b["age_days"] is not None and b["age_days"] > BLOCKER_ALARM_DAYS),
        key=lambda b: (-b["age_days"], b["key"]),
    )
    risks += [
        {
            "title": f"{b['key']} has been blocked for {b['age_days']} days",
            "why": f"Waiting on the {b['waiting_on']}: {b['summary']}",
        }
        for b in old[:MAX_NAMED]
    ]
    if len(old) > MAX_NAMED:
        more = len(old) - MAX_NAMED
        risks.append({
            "title": f"{more} more items blocked for over {BLOCKER_ALARM_DAYS} days",
            "why": "Each is listed under blockers, with whom it is waiting on.",
        })  # fmt: skip
    return risks + _waiting_decisions(changes, period)


def _waiting_decisions(changes: pd.DataFrame, period: Period) -> list[dict[str, str]]:
    end = utc(period.as_of_utc)
    pending = changes[changes["decision"] == "pending"].sort_values(["born", "key"])
    since = waiting_since(pending, end)
    # `age_days` of the whole column at once: thousands of changes can be pending, five are named
    waited = (end - since).dt.total_seconds() // 86400  # NaN when not known
    overdue = pending.assign(days=waited)[waited > DECISION_ALARM_DAYS]
    risks = [
        {
            "title": f"A decision on {c.key} is overdue",
            "why": f'The scope change "{c.summary}" has waited {int(c.days)} days for approval '
            "or rejection.",
        }
        for c in overdue[["key", "summary", "days"]].head(MAX_NAMED).itertuples()
    ]
    if len(overdue) > MAX_NAMED:
        risks.append({
            "title": f"{len(overdue) - MAX_NAMED} more scope changes await a decision",
            "why": f"Each has waited over {DECISION_ALARM_DAYS} days; they are listed under scope.",
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
