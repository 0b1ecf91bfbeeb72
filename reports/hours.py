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
