"""The hours rule, once: how many hours an issue is, and where the figure came from.

PRODUCT.md's rule: the original estimate, else story points x `hours_per_point`, else the
`[estimates]` default for the issue type, else none (unpriced: "needs estimate", never zero).
An original estimate of 0 is a real 0 hours: Jira sends `null` when nobody set an estimate, so a
0 is something a person typed.

Two forms of the same rule: `hours_of` for one issue (the scope engine, a baseline capture) and
`issue_hours` for a frame of them (the digest). `RULE` is the order both follow; a test holds
them to the same answers.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from mappings.model import Mapping, Project
from reports.frames import map_distinct

HoursSource = Literal["estimate", "story_points", "default", "none"]
RULE: tuple[HoursSource, ...] = ("estimate", "story_points", "default")


def hours_of(
    estimate_seconds: float | None,
    story_points: float | None,
    issue_type: str,
    project: Project,
    mapping: Mapping,
) -> tuple[float | None, HoursSource]:
    """One issue's hours (unrounded) and their source."""
    if estimate_seconds is not None:
        return float(estimate_seconds) / 3600, "estimate"
    if story_points is not None:
        return float(story_points) * project.hours_per_point, "story_points"
    default = mapping.hours_by_type.get(issue_type)
    if default is not None:
        return float(default), "default"
    return None, "none"


def issue_hours(issues: pd.DataFrame, project: Project, mapping: Mapping) -> pd.Series:
    """Hours of each row of an issue-like frame (issues, baseline_items), NaN when unpriced."""
    by_estimate = issues["original_estimate_seconds"] / 3600
    by_points = issues["story_points"] * project.hours_per_point
    defaults = mapping.hours_by_type
    by_type = map_distinct(issues["issue_type"], lambda t: defaults.get(t, float("nan")))
    return by_estimate.fillna(by_points).fillna(by_type.astype("float64"))


def counts_as_scope(issue_type: object, project: Project) -> bool:
    """Excluded types (`exclude_types`) are not scope: not in a baseline, not a change, no growth.
    The baseline capture, the scope engine and the digest all ask this."""
    return issue_type not in project.exclude_types


MAX_DEPTH = 10  # epic > story > sub-task is three; a deeper chain is a loop in bad data


def carried_by_children(hours: pd.Series, parent_of: pd.Series) -> pd.Index:
    """The issues of `hours` (indexed by id, NaN when unpriced) whose work their children carry.

    A parent with at least one priced child (or grandchild) among `hours` counts its children,
    not its own estimate on top: an epic's default 40 h would otherwise double-count the stories
    that split it. `parent_of` maps issue ids to their parent's id (ids missing from it have none).
    """
    members = pd.Index(hours.index, dtype=object)
    parent_of = parent_of[~parent_of.index.duplicated(keep="last")]
    parents = pd.Series(parent_of.reindex(members).to_numpy(), dtype=object)
    carrying = members[hours.notna().to_numpy()]
    carried = pd.Index([], dtype=object)
    for _ in range(MAX_DEPTH):
        found = pd.Index(parents[members.isin(carrying)].dropna().unique(), dtype=object)
        new = found[found.isin(members) & ~found.isin(carried)]
        if new.empty:
            break
        carried = carried.append(new)
        carrying = new
    return carried


def counted_hours(hours: pd.Series, parent_of: pd.Series) -> pd.Series:
    """`hours` with each parent carried by its children (`carried_by_children`) counted 0 h."""
    carried = carried_by_children(hours, parent_of)
    return hours.where(~hours.index.isin(carried), 0.0)


def parents_of(issues: pd.DataFrame) -> pd.Series:
    """Issue id -> parent id, from an issues frame (issues without a parent left out)."""
    known = issues[issues["parent_id"].notna() & ~issues["parent_id"].isin(["None", "nan", ""])]
    return pd.Series(known["parent_id"].to_numpy(), index=known["id"].to_numpy())
