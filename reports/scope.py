"""Scope: the agreed baseline, the changes to it and their decisions, and estimate growth.

An issue's hours follow the one rule in `reports.hours`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mappings.model import Mapping, Project
from reports.frames import Frames, micros, utc
from reports.hours import issue_hours
from reports.period import Period

DECISIONS = ("pending", "approved", "rejected")  # the buckets; `not-scope` is no change at all
NOT_SCOPE = "not-scope"  # judged agreed work: left out of every scope figure once decided


def changes_at(changes: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    """The scope changes that existed at `at`, each with the decision in force then.

    A change exists from its issue's Jira creation (our detection time when Jira's is missing).
    A decision taken after `at` was still pending at `at`. Withdrawn changes (their issue was
    deleted) are left out everywhere: the work will not happen and nobody can decide on it; so
    are changes judged agreed work (`not-scope`): a correction, not an event, they never were a
    change and count as baseline (`baseline_hours_by_issue`), whenever the judgement came.
    """
    born = changes["created"].fillna(changes["detected_at"])
    live = changes[(born < at) & ~changes["withdrawn"] & (changes["decision"] != NOT_SCOPE)]
    live = live.copy()
    decided_later = live["decided_at"].notna() & (live["decided_at"] >= at)
    # No decision recorded is the table's default: pending.
    decision = live["decision"].astype(object).fillna("pending")
    live["decision"] = decision.where(~decided_later, "pending")
    live["born"] = born[live.index]
    return live


def baseline_hours_by_issue(frames: Frames, project: Project, mapping: Mapping) -> pd.Series:
    """Hours of each baseline issue as agreed, indexed by issue id (NaN when unpriced).

    A captured baseline is its own record of the estimates. With only the mapping's date, the
    baseline is the project's issues that existed then (not excluded types, not flagged as
    changes), at their estimate before any recorded growth: growth is reported on its own.
    Either way, changes judged agreed work (`not-scope`) are baseline issues too.
    """
    if not frames.baseline_items.empty:
        items = frames.baseline_items
        captured = pd.Series(issue_hours(items, project, mapping).values, index=items["issue_id"])
        return _with_agreed_work(captured, frames, project, mapping)
    if project.baseline is None:
        return pd.Series(dtype="float64")
    return _with_agreed_work(_dated_baseline(frames, project, mapping), frames, project, mapping)


def _with_agreed_work(
    hours: pd.Series, frames: Frames, project: Project, mapping: Mapping
) -> pd.Series:
    """`hours` and the issues of changes judged agreed work, at their estimate now."""
    changes = frames.scope_changes
    agreed = changes[(changes["decision"] == NOT_SCOPE) & ~changes["withdrawn"]]["issue_id"]
    agreed = agreed[~agreed.isin(hours.index)]
    if agreed.empty:
        return hours
    issues = frames.issues[frames.issues["id"].isin(agreed)]
    issues = issues[~issues["issue_type"].astype(object).isin(project.exclude_types)]
    extra = pd.Series(issue_hours(issues, project, mapping).values, index=issues["id"])
    return pd.concat([hours, extra]) if not hours.empty else extra


def _dated_baseline(frames: Frames, project: Project, mapping: Mapping) -> pd.Series:
    assert project.baseline is not None
    issues = frames.issues
    cutoff = utc(project.baseline)
    in_baseline = (
        issues["created"].notna()
        & (issues["created"] <= cutoff)
        & (issues["moved_in_at"].isna() | (issues["moved_in_at"] <= cutoff))
        & ~issues["issue_type"].astype(object).isin(project.exclude_types)
        & ~issues["id"].isin(frames.scope_changes["issue_id"])
    )
    chosen = issues[in_baseline]
    hours = pd.Series(issue_hours(chosen, project, mapping).values, index=chosen["id"])
    growth = frames.scope_growth.sort_values("at")
    first_from = growth.groupby("issue_id", sort=False)["from_hours"].first()
    # The first raise's "from" is the agreed figure, even when that was "unpriced" (NaN).
    grown = hours.index.isin(first_from.index)
    return hours.where(~grown, first_from.reindex(hours.index))


def _bucket(changes: pd.DataFrame) -> dict[str, float]:
    return {
        "count": len(changes),
        "hours": float(changes["hours"].sum()),
        "cost": float(changes["cost"].sum()),
    }


def scope_change_row(change: Any) -> dict[str, Any]:
    """A change as PRODUCT.md's scope-change JSON (before rounding and date formatting)."""
    return {
        "key": change.key,
        "summary": change.summary,
        "issue_type": change.issue_type,
        "created": change.created,
        "detected_at": change.detected_at,
        "hours": change.hours,
        "hours_source": change.hours_source,
        "cost": change.cost,
        "currency": change.currency,
        "schedule_days": change.schedule_days,
        "decision": change.decision,
        "written_back": bool(change.written_back),
    }


def calculate_scope(
    frames: Frames, mapping: Mapping, project: Project, period: Period
) -> dict[str, Any]:
    end, start = utc(period.end_utc), utc(period.start_utc)
    baseline = float(baseline_hours_by_issue(frames, project, mapping).sum())
    changes = changes_at(frames.scope_changes, end)
    by_decision = {d: _bucket(changes[changes["decision"] == d]) for d in DECISIONS}
    rejected = changes[changes["decision"] == "rejected"]
    this_week = changes[changes["born"] >= start].sort_values(["born", "key"])
    growth = frames.scope_growth[frames.scope_growth["at"] < end].sort_values(["at", "key"])
    summaries = frames.issues.set_index("id")["summary"]
    return {
        "baseline_hours": baseline,
        "current_hours": baseline
        + by_decision["approved"]["hours"]
        + by_decision["pending"]["hours"],
        "changes_this_week": [scope_change_row(c) for c in this_week.itertuples()],
        **by_decision,
        # Work done although the client said no: shown so that nobody bills it by accident.
        "rejected_hours_logged": float(rejected["rejected_logged_seconds"].sum()) / 3600,
        "growth": [
            {
                "key": g.key,
                "summary": summaries.get(g.issue_id),
                "from_hours": g.from_hours,
                "to_hours": g.to_hours,
                "at": g.at,
            }
            for g in growth.itertuples()
        ],
    }


def changes_over_time(changes: pd.DataFrame, ends: list[pd.Timestamp]) -> dict[str, np.ndarray]:
    """Per moment in `ends`: approved cost and the hours of approved and pending changes, as
    `changes_at` would give them at each moment (for the weekly series, in one pass).
    """
    born = micros(changes["created"].fillna(changes["detected_at"]))
    decided = micros(changes["decided_at"])
    decision = changes["decision"].astype(object).fillna("pending").to_numpy()
    at = micros(pd.Series(ends, dtype=changes["created"].dtype))[:, None]
    live = (born < at) & changes["created"].fillna(changes["detected_at"]).notna().to_numpy()
    live &= ~changes["withdrawn"].to_numpy() & (decision != NOT_SCOPE)
    # the recorded decision holds once taken, or always when we do not know when it was taken
    taken = changes["decided_at"].isna().to_numpy() | (decided < at)
    approved = live & taken & (decision == "approved")
    kept = live & ~(taken & (decision == "rejected"))
    hours = changes["hours"].fillna(0).to_numpy()
    cost = changes["cost"].fillna(0).to_numpy()
    return {"approved_cost": approved @ cost, "kept_hours": kept @ hours}


def approved_cost_at(changes: pd.DataFrame, at: pd.Timestamp) -> float:
    """What approved changes had added to the budget by `at`."""
    return float(changes_over_time(changes, [at])["approved_cost"][0])


def scope_hours_now(
    frames: Frames,
    project: Project,
    mapping: Mapping,
    changes: pd.DataFrame,
    baseline_ids: pd.Index,
) -> pd.Series:
    """Hours of the work still in scope, by issue id, as estimated now (growth included).

    Baseline issues at their current estimate, approved and pending changes as priced: the work
    the team actually has to do, which is what a completion forecast is about.
    """
    current = pd.Series(
        issue_hours(frames.issues, project, mapping).values, index=frames.issues["id"]
    )
    kept = changes[changes["decision"] != "rejected"]
    added = pd.Series(kept["hours"].values, index=kept["issue_id"])
    base = current.reindex(baseline_ids)
    return pd.concat([base, added[~added.index.isin(base.index)]])
