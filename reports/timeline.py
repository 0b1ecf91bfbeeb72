"""Where each issue stood at a moment, what moved this week, and the milestones.

`issue_state` answers "as of the period's end" for statuses and flags from the mirror's
histories; the budget, EVM, forecast, blocker and risk calculations all read it, so it is
computed once by the digest runner and passed along.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from mappings.model import Statuses
from reports.frames import Frames, map_distinct, micros, rows_of, utc
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
    pairs = issues[["status", "status_category"]].dropna()
    # the last issue holding a status names its category, as a dict built row by row would
    pairs = pairs.drop_duplicates("status", keep="last").astype(object)
    return dict(zip(pairs["status"], pairs["status_category"], strict=True))


def _value_at(history: pd.DataFrame, at: pd.Timestamp, ids: pd.Series) -> pd.DataFrame:
    """For each issue of `ids` (aligned with it), the value in force at `at` by its history
    (`issue_id, before, after, at`), and since when; NaN and NaT without history.

    The last change before `at` gives its "after" value, since its time. An issue whose changes
    all came later held the first change's "before" value, since some unknown time (NaT).
    """
    issues = pd.Index(ids).drop_duplicates()  # a hand-written frame may repeat an issue
    issue = issues.get_indexer(history["issue_id"])  # -1: not one of `ids`
    # an unknown time sorts after every other, as in `sort_values`, and is never before `at`
    times = np.where(history["at"].isna(), np.iinfo(np.int64).max, micros(history["at"]))
    rows = np.flatnonzero(issue >= 0)
    rows = rows[np.lexsort((times[rows], issue[rows]))]  # by issue, then time (a stable sort)
    earlier = times[rows] < micros(pd.Series([at]))[0]
    before, after = (history[c].to_numpy(dtype=object) for c in ("before", "after"))
    value = np.full(len(issues), np.nan, dtype=object)
    since = np.full(len(issues), np.iinfo(np.int64).min)  # NaT
    later = rows[~earlier][_run_starts(issue[rows[~earlier]])]
    value[issue[later]] = before[later]
    last = rows[earlier][_run_ends(issue[rows[earlier]])]
    value[issue[last]] = after[last]
    since[issue[last]] = times[last]
    each = issues.get_indexer(ids)
    return pd.DataFrame(
        {"value": value[each], "since": pd.to_datetime(since[each], unit="us", utc=True)},
        index=ids.index,
    ).astype({"since": history["at"].dtype})


def _run_starts(groups: np.ndarray) -> np.ndarray:
    """Where each run of equal values in `groups` starts."""
    starts = np.ones(len(groups), dtype=bool)
    starts[1:] = groups[1:] != groups[:-1]
    return starts


def _run_ends(groups: np.ndarray) -> np.ndarray:
    """Where each run of equal values in `groups` ends."""
    ends = np.ones(len(groups), dtype=bool)
    ends[:-1] = groups[1:] != groups[:-1]
    return ends


def _statuses_at(issues: pd.DataFrame, transitions: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    history = transitions.rename(columns={"from_status": "before", "to_status": "after"})
    known = _value_at(history, at, issues["id"])
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
    known = _value_at(history, at, issues["id"])
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
    finishing = (
        (transitions["at"] < at)
        & done_status(transitions["to_status"])
        & ~done_status(transitions["from_status"])
    )
    last = transitions[finishing].groupby("issue_id", sort=False, dropna=False)["at"].max()
    found = last.reindex(issues["id"])
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
    named = named.sort_values(["at", "key"])[["key", "summary", "from_status", "to_status", "at"]]
    return [
        {"key": m.key, "summary": m.summary, "from": m.from_status, "to": m.to_status, "at": m.at}
        for m in rows_of(named)
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
    """Fix versions with a release date, due order; `hours` is each in-scope issue's hours by id
    (the same hours the project's forecast reads).

    `p85_for(open_hours)` is the forecast's 85th-percentile date for that much work. The team is
    taken to deliver milestones in due order, so a milestone's forecast is for its own open work
    and that of every unreleased milestone due before it: the last milestone's forecast is the
    project's own when every open issue belongs to a milestone (the digest says how much does
    not). An issue in two milestones counts once, in the first.
    """
    versions = frames.versions[frames.versions["release_date"].notna()]
    versions = versions.assign(_name=versions["name"].astype(str)).sort_values(
        ["release_date", "_name"], kind="stable"
    )
    open_hours = _open_hours_by_version(state, hours, versions["id"], first_only=True)
    milestones = []
    before = 0.0
    for v in versions.itertuples():
        remaining = open_hours.get(v.id, 0.0)
        if not v.released:
            before += remaining
        p85 = None if v.released else p85_for(before)
        status = milestone_status(bool(v.released), v.release_date, p85, remaining, period)
        milestones.append(
            {"name": v.name, "due": v.release_date, "status": status, "forecast_p85": p85}
        )
    return milestones


def hours_in_milestones(frames: Frames, state: pd.DataFrame, hours: pd.Series) -> float:
    """Open in-scope hours that belong to an unreleased milestone with a date."""
    versions = frames.versions
    dated = versions[versions["release_date"].notna() & ~versions["released"].astype(bool)]
    return sum(_open_hours_by_version(state, hours, dated["id"], first_only=True).values())


def _open_hours_by_version(
    state: pd.DataFrame,
    hours: pd.Series,
    version_ids: Sequence[str] | pd.Series,
    *,
    first_only: bool = False,
) -> dict[str, float]:
    """Open hours per version of `version_ids`; with `first_only`, an issue in several of them
    counts in the first of `version_ids` only (the caller gives them in due order)."""
    open_issues = state[~state["done"]]
    # (version, issue) pairs in the order `explode` would give them, without its per-row cost
    lists = [ids if isinstance(ids, tuple | list) else () for ids in open_issues["fix_version_ids"]]
    versions = np.empty(sum(map(len, lists)), dtype=object)
    versions[:] = list(chain.from_iterable(lists))
    issue_ids = np.repeat(open_issues.index.to_numpy(), list(map(len, lists)))
    pairs = pd.DataFrame({"version": versions, "issue_id": issue_ids})
    wanted = [str(v) for v in version_ids]
    pairs = pairs[pairs["version"].isin(wanted)]
    if first_only:
        rank = {v: n for n, v in enumerate(wanted)}
        pairs = pairs.assign(_rank=pairs["version"].map(rank)).sort_values("_rank", kind="stable")
        pairs = pairs.drop_duplicates("issue_id")
    pairs["hours"] = hours.reindex(pairs["issue_id"]).fillna(0).to_numpy()
    return {str(k): float(v) for k, v in pairs.groupby("version")["hours"].sum().items()}
