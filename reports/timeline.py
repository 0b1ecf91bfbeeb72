"""Where each issue stood at a moment, what moved this week, and the milestones.

`issue_state` answers "as of the period's end" for statuses and flags from the mirror's
histories; the budget, EVM, forecast, blocker and risk calculations all read it, so it is
computed once by the digest runner and passed along.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pandas as pd

from mappings.model import Statuses
from reports.load import Frames, map_distinct, utc
from reports.period import Period

STATE_COLUMNS = [
    "id", "key", "summary", "issue_type", "labels", "assignee", "owner", "created",
    "fix_version_ids", "status", "status_since", "done", "done_at", "flagged", "flagged_since",
]  # fmt: skip


def status_categories(issues: pd.DataFrame) -> dict[str, str]:
    """Status name -> Jira category key, learned from the statuses issues hold now.

    Transitions carry only names. A status no issue holds any more is unknown and counts as "in
    progress": not done, so it can never inflate earned value.
    """
    pairs = issues[["status", "status_category"]].dropna().astype(object)
    return dict(zip(pairs["status"], pairs["status_category"], strict=True))


def _value_at(history: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    """Per issue with history (`issue_id, before, after, at`): the value in force at `at`.

    The last change before `at` gives its "after" value, since its time. An issue whose changes
    all came later held the first change's "before" value, since some unknown time (NaT).
    """
    ordered = history.sort_values("at", kind="stable")
    earlier = ordered["at"] < at
    last = ordered[earlier].drop_duplicates("issue_id", keep="last").set_index("issue_id")
    first = ordered[~earlier].drop_duplicates("issue_id", keep="first").set_index("issue_id")
    first = first[~first.index.isin(last.index)]
    value = pd.concat([last["after"], first["before"]])
    since = pd.concat([last["at"], pd.Series(pd.NaT, index=first.index, dtype=last["at"].dtype)])
    return pd.DataFrame({"value": value.astype(object), "since": since})


def _statuses_at(issues: pd.DataFrame, transitions: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    history = transitions.rename(columns={"from_status": "before", "to_status": "after"})
    known = _value_at(history, at).reindex(issues["id"])
    known.index = issues.index
    current_since = issues["status_since"].where(issues["status_since"] < at)
    status = known["value"].where(known["value"].notna(), issues["status"].astype(object))
    # No recorded change before `at`: the status has held since creation, or since status_since
    # when that is known and earlier.
    fallback_since = current_since.where(known["value"].isna(), pd.NaT).fillna(issues["created"])
    return pd.DataFrame({"status": status, "status_since": known["since"].fillna(fallback_since)})


def _flags_at(issues: pd.DataFrame, changes: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    history = changes[changes["field"].astype(object).str.lower() == "flagged"].rename(
        columns={"from_value": "before", "to_value": "after"}
    )
    known = _value_at(history, at).reindex(issues["id"])
    known.index = issues.index
    has_history = issues["id"].isin(history["issue_id"])
    from_history = map_distinct(known["value"], lambda v: isinstance(v, str) and v.strip() != "")
    raised_before = issues["flagged_since"].isna() | (issues["flagged_since"] < at)
    flagged = from_history.where(has_history, issues["flagged"] & raised_before).astype(bool)
    since = known["since"].where(has_history, issues["flagged_since"]).fillna(issues["created"])
    return pd.DataFrame({"flagged": flagged, "flagged_since": since.where(flagged, pd.NaT)})


def _done_at(
    issues: pd.DataFrame,
    transitions: pd.DataFrame,
    done_status: Callable[[pd.Series], pd.Series],
    at: pd.Timestamp,
) -> pd.Series:
    """When each issue last entered a done status from a not-done one, before `at`."""
    moves = transitions[transitions["at"] < at]
    finishing = moves[done_status(moves["to_status"]) & ~done_status(moves["from_status"])]
    last = finishing.sort_values("at").drop_duplicates("issue_id", keep="last")
    found = last.set_index("issue_id")["at"].reindex(issues["id"])
    found.index = issues.index
    resolved = issues["resolved"].where(issues["resolved"] < at)
    return found.fillna(resolved)


def issue_state(frames: Frames, statuses: Statuses, at: pd.Timestamp) -> pd.DataFrame:
    """Every issue that existed at `at`, with its status, doneness and flag as they were then."""
    issues = frames.issues[frames.issues["created"].isna() | (frames.issues["created"] < at)]
    categories = status_categories(frames.issues)
    done_categories = set(statuses.done_categories)

    def done_status(names: pd.Series) -> pd.Series:
        return map_distinct(
            names, lambda n: categories.get(n, "indeterminate") in done_categories
        ).astype(bool)

    statuses_then = _statuses_at(issues, frames.transitions, at)
    flags_then = _flags_at(issues, frames.field_changes, at)
    state = issues.drop(columns=[*statuses_then.columns, *flags_then.columns])
    state = pd.concat([state, statuses_then, flags_then], axis=1)
    # An issue still in its current status has its own category; the learned one is for the past.
    same = state["status"] == issues["status"].astype(object)
    own = issues["status_category"].astype(object).isin(done_categories)
    state["done"] = own.where(same, done_status(state["status"])).astype(bool)
    done_at = _done_at(issues, frames.transitions, done_status, at).fillna(state["status_since"])
    state["done_at"] = done_at.where(state["done"], pd.NaT)
    return state[STATE_COLUMNS].set_index(state["id"].rename(None))


def calculate_transitions(frames: Frames, period: Period) -> list[dict[str, Any]]:
    """Status changes inside the period (creating an issue is not one), oldest first."""
    start, end = utc(period.start_utc), utc(period.end_utc)
    at = frames.transitions["at"]
    moves = frames.transitions[(at >= start) & (at < end)]
    named = moves.merge(frames.issues[["id", "key", "summary"]], left_on="issue_id", right_on="id")
    return [
        {"key": m.key, "summary": m.summary, "from": m.from_status, "to": m.to_status, "at": m.at}
        for m in named.sort_values(["at", "key"]).itertuples()
    ]


def milestone_status(
    released: bool, due: date, p85: date | None, open_hours: float, period: Period
) -> str:
    if released:
        return "released"
    if due <= period.last_day:
        return "late"
    if open_hours <= 0:
        return "on track"
    # Work remains and nothing is finishing (no forecast): we cannot call that on track.
    if p85 is None or p85 > due:
        return "at risk"
    return "on track"


def calculate_milestones(
    frames: Frames,
    state: pd.DataFrame,
    hours: pd.Series,
    period: Period,
    p85_for: Callable[[float], date | None],
) -> list[dict[str, Any]]:
    """Fix versions with a release date, due order; `hours` is each issue's hours by id.

    `p85_for(open_hours)` is the forecast's 85th-percentile date for that much work if the team
    did only this milestone's issues from now on: optimistic when milestones overlap, which is
    why "at risk" is the most it claims.
    """
    versions = frames.versions[frames.versions["release_date"].notna()]
    open_hours = _open_hours_by_version(state, hours, versions["id"])
    milestones = []
    for v in versions.itertuples():
        remaining = open_hours.get(v.id, 0.0)
        p85 = None if v.released else p85_for(remaining)
        status = milestone_status(bool(v.released), v.release_date, p85, remaining, period)
        milestones.append(
            {"name": v.name, "due": v.release_date, "status": status, "forecast_p85": p85}
        )
    return sorted(milestones, key=lambda m: (m["due"], m["name"]))


def _open_hours_by_version(
    state: pd.DataFrame, hours: pd.Series, version_ids: Sequence[str] | pd.Series
) -> dict[str, float]:
    open_issues = state[~state["done"]]
    pairs = pd.DataFrame(
        {"version": open_issues["fix_version_ids"], "issue_id": open_issues.index}
    ).explode("version")
    pairs = pairs[pairs["version"].isin(list(version_ids))]
    pairs["hours"] = hours.reindex(pairs["issue_id"]).fillna(0).to_numpy()
    return {str(k): float(v) for k, v in pairs.groupby("version")["hours"].sum().items()}
