"""Scope: the agreed baseline, the changes to it and their decisions, and estimate growth.

An issue's hours follow the one rule in `reports.hours`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mappings.model import Mapping, Project
from reports.blockers import age_days
from reports.frames import Frames, micros, utc
from reports.hours import (
    carried_by_children,
    counted_hours,
    issue_hours,
    parents_of,
)
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


def waiting_since(pending: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """When each pending change began to wait on the client: when scopewatch flagged it (nobody
    could decide on it before, however old the Jira issue is), or its reopening before `as_of`.
    The headline, "waiting on you" and the overdue risk all count ages from here."""
    since = pending["detected_at"].fillna(pending["born"])
    reopened = pending["decided_at"].where(pending["decided_at"] < as_of)
    return since.where(~(reopened > since), reopened)


def baseline_hours_by_issue(frames: Frames, project: Project, mapping: Mapping) -> pd.Series:
    """Hours of each baseline issue as agreed, indexed by issue id (NaN when unpriced).

    A captured baseline is its own record of the estimates. With only the mapping's date, the
    baseline is the project's issues that existed then (not flagged as changes), at their
    estimate before any recorded growth: growth is reported on its own. Either way, excluded
    types are not scope (as `baseline capture` counts them), changes judged agreed work
    (`not-scope`) are baseline issues too, and a parent whose children are priced counts 0 h: its
    children carry its work (`reports.hours.carried_by_children`).
    """
    parents = parents_of(frames.issues)
    if not frames.baseline_items.empty:
        items = frames.baseline_items
        # `counts_as_scope`, for the whole column at once
        items = items[~items["issue_type"].astype(object).isin(project.exclude_types)]
        captured = pd.Series(issue_hours(items, project, mapping).values, index=items["issue_id"])
        return counted_hours(_with_agreed_work(captured, frames, project, mapping), parents)
    if project.baseline is None:
        return pd.Series(dtype="float64")
    dated = _dated_baseline(frames, project, mapping)
    return counted_hours(_with_agreed_work(dated, frames, project, mapping), parents)


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


@dataclass(frozen=True)
class ScopeHours:
    """Every hours figure of the scope story, computed once as of one moment; the scope,
    budget (EVM), forecast and milestone sections all read this one record.

    current = baseline + approved + pending + raised - removed, where
    - `baseline`: the agreed hours by issue id (parents carried by their children count 0);
    - approved and pending: the changes' hours as priced (`counted_hours`: 0 for a change whose
      children in scope carry it);
    - `raised`: estimates raised since they were agreed (baseline issues, approved changes);
    - `removed`: baseline issues that are no longer scope: deleted, moved out of the project, or
      now of an excluded type.
    """

    baseline: pd.Series
    removed: pd.Series
    changes: pd.DataFrame  # `changes_at(at)`, with a "counted_hours" column
    raised: pd.Series
    raise_from: pd.Series  # the agreed hours each raise is measured from, by issue id

    @property
    def kept(self) -> pd.DataFrame:
        """The changes still to be delivered: approved and pending ones."""
        return self.changes[self.changes["decision"].isin(["approved", "pending"])]

    @property
    def agreed(self) -> pd.Series:
        """The baseline issues still in scope, at their agreed hours."""
        return self.baseline[~self.baseline.index.isin(self.removed.index)]

    def plan(self) -> pd.Series:
        """Hours by issue id planned at the agreed figures: baseline plus approved changes."""
        approved = self.kept[self.kept["decision"] == "approved"]
        added = pd.Series(approved["counted_hours"].to_numpy(), index=approved["issue_id"])
        agreed = self.agreed
        return pd.concat([agreed, added[~added.index.isin(agreed.index)]])

    def now(self) -> pd.Series:
        """Hours by issue id of the work in scope now (raised estimates included): the work the
        team has to do, which the finish forecast and the milestones are about. They sum to
        `totals()["current_hours"]`."""
        kept = self.kept
        added = pd.Series(kept["counted_hours"].to_numpy(), index=kept["issue_id"])
        agreed = self.agreed
        hours = pd.concat([agreed, added[~added.index.isin(agreed.index)]])
        raised = self.raised.reindex(hours.index).fillna(0.0)
        return hours.where(raised == 0, hours.fillna(0.0) + raised)

    def totals(self) -> dict[str, float]:
        kept = self.kept
        approved = float(kept.loc[kept["decision"] == "approved", "counted_hours"].sum())
        pending = float(kept.loc[kept["decision"] == "pending", "counted_hours"].sum())
        baseline = float(self.baseline.sum())
        raised = float(self.raised.sum())
        removed = float(self.removed.sum())
        return {
            "baseline_hours": baseline,
            "approved_hours": approved,
            "pending_hours": pending,
            "raised_hours": raised,
            "removed_hours": removed,
            "current_hours": baseline + approved + pending + raised - removed,
        }


def scope_hours(frames: Frames, project: Project, mapping: Mapping, at: pd.Timestamp) -> ScopeHours:
    """The scope's hours as of `at` (the digest's period end)."""
    baseline = baseline_hours_by_issue(frames, project, mapping)
    issues = frames.issues
    now_type = pd.Series(issues["issue_type"].astype(object).to_numpy(), index=issues["id"])
    present = baseline.index.isin(issues["id"])
    # `counts_as_scope`, for the whole column at once
    excluded_now = now_type.reindex(baseline.index).isin(project.exclude_types).to_numpy()
    removed = baseline[~present | excluded_now]
    changes = changes_at(frames.scope_changes, at)
    agreed = baseline[~baseline.index.isin(removed.index)]
    changes["counted_hours"] = _change_hours(changes, agreed, parents_of(issues))
    # Raises after the agreed figure: the last raise before `at` against the agreed hours.
    growth = frames.scope_growth[frames.scope_growth["at"] < at].sort_values("at")
    last_to = growth.groupby("issue_id", sort=False)["to_hours"].last()
    approved = changes[changes["decision"] == "approved"]
    agreed_then = pd.concat(
        [agreed, pd.Series(approved["hours"].to_numpy(), index=approved["issue_id"])]
    )
    agreed_then = agreed_then[~agreed_then.index.duplicated(keep="first")]
    # A parent carried by its children counts them: a raise of its own estimate adds nothing.
    carried = agreed_then.index.isin(carried_by_children(agreed_then, parents_of(issues)))
    grown = last_to[last_to.index.isin(agreed_then.index[~carried])]
    raise_from = agreed_then[~carried].fillna(0.0)
    raised = grown - raise_from.reindex(grown.index)
    return ScopeHours(
        baseline=baseline, removed=removed, changes=changes, raised=raised, raise_from=raise_from
    )


def _change_hours(changes: pd.DataFrame, agreed: pd.Series, parents: pd.Series) -> pd.Series:
    """Each change's hours as counted in scope: a change whose children in scope are priced is
    carried by them (0 h), as a baseline parent is."""
    kept = changes[changes["decision"].isin(["approved", "pending"])]
    hours = pd.Series(kept["hours"].to_numpy(), index=kept["issue_id"])
    in_scope = pd.concat([agreed, hours[~hours.index.isin(agreed.index)]])
    carried = carried_by_children(in_scope, parents)
    counted = changes["hours"].where(~changes["issue_id"].isin(carried), 0.0)
    return counted


def _bucket(changes: pd.DataFrame, hours: str = "hours") -> dict[str, float]:
    return {
        "count": len(changes),
        "hours": float(changes[hours].sum()),
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
    frames: Frames,
    mapping: Mapping,
    project: Project,
    period: Period,
    hours: ScopeHours | None = None,
) -> dict[str, Any]:
    """The scope section. `hours` is the digest's one `ScopeHours` as of the period's end
    (computed here when not given). The decision buckets count hours as `current_hours` does."""
    end, start = utc(period.end_utc), utc(period.start_utc)
    hours = hours or scope_hours(frames, project, mapping, end)
    changes = hours.changes
    by_decision = {
        d: _bucket(
            changes[changes["decision"] == d], "counted_hours" if d != "rejected" else "hours"
        )
        for d in DECISIONS
    }
    rejected = changes[changes["decision"] == "rejected"]
    this_week = changes[changes["born"] >= start].sort_values(["born", "key"])
    growth = frames.scope_growth[frames.scope_growth["at"] < end].sort_values(["at", "key"])
    summaries = frames.issues.set_index("id")["summary"]
    totals = hours.totals()
    as_of = utc(period.as_of_utc)
    pending = changes[changes["decision"] == "pending"].sort_values(["born", "key"])
    waiting = waiting_since(pending, as_of)
    return {
        "baseline_hours": totals["baseline_hours"],
        "current_hours": totals["current_hours"],
        # current = baseline + approved + pending + raised - removed, each term shown
        "raised_hours": totals["raised_hours"],
        "removed_hours": totals["removed_hours"],
        "changes_this_week": [scope_change_row(c) for c in this_week.itertuples()],
        **by_decision,
        # Work done although the client said no: shown so that nobody bills it by accident.
        "rejected_hours_logged": float(rejected["rejected_logged_seconds"].sum()) / 3600,
        # What waits on the client's decision, oldest first; ages to the digest's as-of moment.
        "awaiting_decision": [
            {
                "key": c.key,
                "summary": c.summary,
                "hours": c.hours,
                "cost": c.cost,
                "currency": c.currency,
                "since": since,
                "age_days": age_days(since, as_of),
            }
            for c, since in zip(pending.itertuples(), waiting, strict=True)
        ],
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


def current_hours_series(
    hours: ScopeHours, frames: Frames, ends: list[pd.Timestamp]
) -> list[float]:
    """Current scope at each moment of `ends`, by the same sum as `ScopeHours.totals` (removed
    issues are taken off throughout: when they left is not recorded)."""
    counted = hours.changes.drop_duplicates("issue_id").set_index("issue_id")["counted_hours"]
    changes = frames.scope_changes
    by_change = counted.reindex(changes["issue_id"]).to_numpy()
    kept_hours = changes_over_time(
        changes.assign(hours=np.where(pd.isna(by_change), changes["hours"], by_change)), ends
    )["kept_hours"]
    base = float(hours.baseline.sum()) - float(hours.removed.sum())
    growth = frames.scope_growth[frames.scope_growth["issue_id"].isin(hours.raise_from.index)]
    out = []
    for end, kept in zip(ends, kept_hours, strict=True):
        then = growth[growth["at"] < end].sort_values("at")
        last_to = then.groupby("issue_id", sort=False)["to_hours"].last()
        raised = float((last_to - hours.raise_from.reindex(last_to.index).fillna(0.0)).sum())
        out.append(base + float(kept) + raised)
    return out


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
    # rejected (or any decision that takes the change out of scope) once taken
    kept = live & ~(taken & ~np.isin(decision, ["approved", "pending"]))
    hours = changes["hours"].fillna(0).to_numpy()
    cost = changes["cost"].fillna(0).to_numpy()
    return {"approved_cost": approved @ cost, "kept_hours": kept @ hours}


def approved_cost_at(changes: pd.DataFrame, at: pd.Timestamp) -> float:
    """What approved changes had added to the budget by `at`."""
    return float(changes_over_time(changes, [at])["approved_cost"][0])
