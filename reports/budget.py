"""Money: the budget with approved changes, what was spent (at the author's rate), by category,
and when the money runs out at the recent burn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from mappings.model import Mapping, Project
from reports.evm import planned_share
from reports.frames import Frames, map_distinct, micros, utc
from reports.period import Period, add_weeks, period_for, week_name, weeks_from
from reports.scope import approved_cost_at, changes_at, changes_over_time

UNCATEGORISED = "Uncategorised"
RUNWAY_WEEKS = 4  # the "recent burn" the runway extrapolates


def category_of(components: pd.Series, categories: Sequence[str]) -> pd.Series:
    """Each row's first component that names a category, else "Uncategorised"."""
    named = set(categories)

    def first(components: tuple[str, ...]) -> str:
        return next((c for c in components if c in named), UNCATEGORISED)

    # Few distinct component lists exist, so each is looked at once rather than once per row.
    return map_distinct(components, lambda c: first(c or ()))


def worklog_cost(worklogs: pd.DataFrame, mapping: Mapping, project: Project) -> pd.Series:
    """Money per worklog row: hours x the rate of the author's role, else the default rate."""
    rate = map_distinct(worklogs["author"], lambda a: mapping.rate_for(a, project))
    return worklogs["seconds"] / 3600 * rate.astype("float64")


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
    rest = max(project.budget - sum(b for _, b in project.categories), 0.0)
    budgets = {**project.category_budgets, UNCATEGORISED: rest}
    rows: list[dict[str, Any]] = []
    for name in [*names, UNCATEGORISED]:
        budget = float(budgets[name] + added.get(name, 0.0))
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
    cost = worklog_cost(worklogs, mapping, project)
    before_end = worklogs["started"] < end
    changes = changes_at(frames.scope_changes, end)
    total = project.budget + approved_cost_at(frames.scope_changes, end)
    spent = float(cost[before_end].sum())
    remaining = total - spent
    return {
        "total": total,
        "spent": spent,
        "spent_this_week": float(cost[before_end & (worklogs["started"] >= start)].sum()),
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
    over_time = changes_over_time(frames.scope_changes, [utc(e) for e in ends])
    budget_total = [project.budget + float(c) for c in over_time["approved_cost"]]
    return {
        "weeks": weeks,
        "week_end": [p.last_day for p in periods],
        "spent_cum": [float(s) for s in spend_before(frames.worklogs, cost, ends)],
        "planned_cum": [
            total * planned_share(project, period.tz, e)
            for total, e in zip(budget_total, ends, strict=True)
        ],
        "budget_total": budget_total,
        "baseline_hours": [baseline_hours] * len(weeks),
        "current_hours": [baseline_hours + float(h) for h in over_time["kept_hours"]],
    }
