"""Money: the budget with approved changes, what was spent (at the author's rate), by category,
and when the money runs out at the recent burn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from mappings.model import Mapping, Project
from reports.evm import planned_share
from reports.frames import Frames, map_distinct, micros, utc
from reports.period import Period, add_weeks, period_for, week_name, weeks_from
from reports.rates import hours_cost, money, non_billable_mask, rate_on
from reports.scope import approved_cost_at, changes_at, changes_over_time

UNCATEGORISED = "Uncategorised"
RUNWAY_WEEKS = 4  # the "recent burn" the runway extrapolates


ZERO = Decimal(0)


def exact(amount: float | int | Decimal) -> Decimal:
    """An amount as the Decimal written (the mapping's already is; a float by its shortest form)."""
    value = money(amount)
    assert value is not None
    return value


def budget_total(project: Project, approved_cost: float) -> float:
    """The budget with the approved changes, added exactly: a float only for the frames after."""
    return float(exact(project.budget) + exact(approved_cost))


def category_of(components: pd.Series, categories: Sequence[str]) -> pd.Series:
    """Each row's first component that names a category, else "Uncategorised"."""
    named = set(categories)

    def first(components: tuple[str, ...]) -> str:
        return next((c for c in components if c in named), UNCATEGORISED)

    # Few distinct component lists exist, so each is looked at once rather than once per row.
    return map_distinct(components, lambda c: first(c or ()))


def worklog_money(worklogs: pd.DataFrame, mapping: Mapping, project: Project) -> pd.Series:
    """Exact money (Decimal) per worklog row: its hours at the billing rate of its author on the
    day it started, in the project's zone (`reports.rates`). The loader never sums work across a
    rate change, so a row's day names the rate of all of it.
    """
    if worklogs.empty:
        return pd.Series([], dtype=object, index=worklogs.index)
    days = worklogs["started"].dt.tz_convert(project.digest.tz).dt.date
    rates: dict[tuple[Any, Any], Decimal] = {}

    def rate(author: Any, day: Any) -> Decimal:
        key = (author, day)
        if key not in rates:
            person = None if author is None or pd.isna(author) else str(author)
            rates[key] = rate_on(mapping, project, person, day).billing
        return rates[key]

    values = [
        hours_cost(int(seconds), rate(author, day))
        for author, day, seconds in zip(
            worklogs["author"].to_numpy(dtype=object),
            days.to_numpy(dtype=object),
            worklogs["seconds"].to_numpy(),
            strict=True,
        )
    ]
    return pd.Series(values, dtype=object, index=worklogs.index)


def worklog_cost(worklogs: pd.DataFrame, mapping: Mapping, project: Project) -> pd.Series:
    """Money per worklog row as floats, for the figures that extrapolate (runway, charts)."""
    return worklog_money(worklogs, mapping, project).map(float).astype("float64")


def billable(worklogs: pd.DataFrame, project: Project) -> pd.Series:
    """True for the rows the client is billed for: not of a non-billable type, label or
    component (the mapping's `non_billable`)."""
    return ~non_billable_mask(worklogs, project.non_billable)


def spend_before(worklogs: pd.DataFrame, cost: pd.Series, bounds: Sequence[datetime]) -> np.ndarray:
    """Cumulative spend before each boundary (aware datetimes), one value per boundary."""
    if not len(bounds):
        return np.zeros(0)
    edges = micros(pd.Series([utc(b) for b in bounds], dtype=worklogs["started"].dtype))
    slot = np.searchsorted(edges, micros(worklogs["started"]), side="right")
    # slot k: started is before bounds[k] and at/after bounds[k-1]; k == len: after them all
    per_slot = np.bincount(slot, weights=cost.to_numpy(dtype=float), minlength=len(bounds) + 1)
    return np.cumsum(per_slot)[: len(bounds)]


def runway_date(
    worklogs: pd.DataFrame, cost: pd.Series, project: Project, period: Period, remaining: float
) -> date | None:
    """When the money runs out at the average burn of the last four weeks (fewer if the project
    is younger); None when nothing was burnt. Already overspent gives a date in the past.
    """
    first = max(add_weeks(period.week, 1 - RUNWAY_WEEKS), week_name(project.start))
    weeks = max(1, len(weeks_from(first, period.week)))
    window_start = period_for(first, period.tz).start if first <= period.week else period.start
    in_window = (worklogs["started"] >= utc(window_start)) & (
        worklogs["started"] < utc(period.end_utc)
    )
    weekly = float(cost[in_window].sum()) / weeks
    if weekly <= 0:
        return None
    return (period.end + timedelta(days=7 * remaining / weekly)).date()


def _by_category(
    frames: Frames, cost: pd.Series, spent_mask: pd.Series, project: Project, changes: pd.DataFrame
) -> list[dict[str, Any]]:
    names = [name for name, _ in project.categories]
    spent = cost[spent_mask].groupby(category_of(frames.worklogs["components"], names)[spent_mask])
    spent_by = spent.sum().to_dict()
    approved = changes[changes["decision"] == "approved"]
    components = frames.issues.set_index("id")["components"]
    change_components = approved["issue_id"].map(lambda i: components.get(i, ()))
    added = approved["cost"].groupby(category_of(change_components, names)).sum().to_dict()
    # Whatever the categories do not cover is the uncategorised share of the budget.
    rest = max(exact(project.budget) - sum(map(exact, project.category_budgets.values())), ZERO)
    budgets = {**{k: exact(v) for k, v in project.category_budgets.items()}, UNCATEGORISED: rest}
    rows: list[dict[str, Any]] = []
    for name in [*names, UNCATEGORISED]:
        budget = float(budgets[name] + exact(added.get(name, 0)))
        spent_here = float(spent_by.get(name, 0.0))
        # An empty "Uncategorised" row would only be noise when categories cover everything.
        if name != UNCATEGORISED or not names or budget > 0 or spent_here > 0:
            rows.append({"category": name, "budget": budget, "spent": spent_here})
    return rows


def calculate_budget(
    frames: Frames, mapping: Mapping, project: Project, period: Period
) -> dict[str, Any]:
    end, start = utc(period.end_utc), utc(period.start_utc)
    worklogs = frames.worklogs
    exact = worklog_money(worklogs, mapping, project)
    billed = billable(worklogs, project)
    # Non-billable work is tracked (`non_billable_summary`) but burns none of the client's budget.
    exact = exact.where(billed, Decimal(0))
    cost = exact.map(float).astype("float64")
    before_end = worklogs["started"] < end
    this_week = before_end & (worklogs["started"] >= start)
    changes = changes_at(frames.scope_changes, end)
    total = budget_total(project, approved_cost_at(frames.scope_changes, end))
    # Summed exactly; a float only at the end, which holds the sum to far below a cent.
    spent = float(sum(exact[before_end], Decimal(0)))
    remaining = total - spent
    return {
        "total": total,
        "spent": spent,
        "spent_this_week": float(sum(exact[this_week], Decimal(0))),
        "remaining": remaining,
        "burn_pct": spent / total * 100 if total > 0 else None,
        "runway_date": runway_date(worklogs, cost, project, period, remaining),
        "by_category": _by_category(frames, cost, before_end, project, changes),
    }


def calculate_series(
    frames: Frames, mapping: Mapping, project: Project, period: Period, baseline_hours: float
) -> dict[str, list[Any]]:
    """Week by week from the project's start to this period, each figure as of the week's end:
    the data behind the burn-up chart.
    """
    weeks = weeks_from(min(week_name(project.start), period.week), period.week)
    periods = [period_for(w, period.tz) for w in weeks]
    ends = [p.end for p in periods]
    cost = worklog_cost(frames.worklogs, mapping, project)
    cost = cost.where(billable(frames.worklogs, project), 0.0)
    over_time = changes_over_time(frames.scope_changes, [utc(e) for e in ends])
    budget_totals = [budget_total(project, c) for c in over_time["approved_cost"]]
    return {
        "weeks": weeks,
        "week_end": [p.last_day for p in periods],
        "spent_cum": [float(s) for s in spend_before(frames.worklogs, cost, ends)],
        "planned_cum": [
            total * planned_share(project, period.tz, e)
            for total, e in zip(budget_totals, ends, strict=True)
        ],
        "budget_total": budget_totals,
        "baseline_hours": [baseline_hours] * len(weeks),
        "current_hours": [baseline_hours + float(h) for h in over_time["kept_hours"]],
    }


def non_billable_summary(
    frames: Frames, mapping: Mapping, project: Project, period: Period
) -> dict[str, Any]:
    """The work the client is not billed for, up to the period's end: for the agency's eyes.

    `hours`, its worth at the billing rates (`value`), and its `cost` at the cost rates where
    the mapping has them for every hour (else None: an unknown cost is never shown as zero).
    """
    worklogs = frames.worklogs
    if worklogs.empty:
        return {"hours": 0.0, "value": 0.0, "cost": 0.0}
    rows = worklogs[~billable(worklogs, project) & (worklogs["started"] < utc(period.end_utc))]
    value = sum(worklog_money(rows, mapping, project), Decimal(0))
    days = rows["started"].dt.tz_convert(project.digest.tz).dt.date
    cost: Decimal | None = Decimal(0)
    for author, day, seconds in zip(rows["author"], days, rows["seconds"], strict=True):
        person = None if author is None or pd.isna(author) else str(author)
        rate = rate_on(mapping, project, person, day).cost
        cost = None if rate is None or cost is None else cost + hours_cost(int(seconds), rate)
    return {
        "hours": float(rows["seconds"].sum()) / 3600,
        "value": float(value),
        "cost": None if cost is None else float(cost),
    }
