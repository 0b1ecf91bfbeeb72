"""The hours rule's two forms, one issue at a time and a frame at a time, give the same hours."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from mappings import load_mapping
from reports.frames import frames_from_records
from reports.hours import hours_of, issue_hours
from tests.support import ROOT

MAPPING = load_mapping(ROOT / "mappings" / "sandbox.toml")
ACME = MAPPING.projects[0]  # 6 h a point; Story 8 h, Task 4 h, Epic 40 h by default

issues = st.lists(
    st.fixed_dictionaries(
        {
            "original_estimate_seconds": st.none() | st.integers(0, 400_000),
            "story_points": st.none() | st.floats(0, 100, allow_nan=False),
            "issue_type": st.sampled_from(["Story", "Task", "Epic", "Bug", "Spike"]),
        }
    ),
    max_size=20,
)


@given(issues)
def test_the_frame_form_agrees_with_the_one_issue_form(rows: list[dict]) -> None:
    frame = frames_from_records(issues=[{"id": str(n), **r} for n, r in enumerate(rows)]).issues
    vectorised = issue_hours(frame, ACME, MAPPING).tolist()
    one_by_one = [
        hours_of(r["original_estimate_seconds"], r["story_points"], r["issue_type"], ACME, MAPPING)[
            0
        ]
        for r in rows
    ]
    assert len(vectorised) == len(one_by_one)
    for frame_hours, issue_hours_ in zip(vectorised, one_by_one, strict=True):
        if issue_hours_ is None:
            assert math.isnan(frame_hours)
        else:
            assert math.isclose(frame_hours, issue_hours_)


def test_each_source_in_the_rules_order() -> None:
    assert hours_of(0, 3, "Story", ACME, MAPPING) == (0.0, "estimate")  # a typed 0 is 0 h
    assert hours_of(None, 3, "Story", ACME, MAPPING) == (18.0, "story_points")
    assert hours_of(None, None, "Story", ACME, MAPPING) == (8.0, "default")
    assert hours_of(None, None, "Spike", ACME, MAPPING) == (None, "none")


def test_a_parent_counts_its_priced_children_not_its_own_hours_on_top() -> None:
    import pandas as pd

    from reports.hours import counted_hours

    hours = pd.Series(
        {"epic": 40.0, "story": 8.0, "sub": 3.0, "lonely": 4.0, "parent": 5.0, "unpriced": None},
        dtype="float64",
    )
    parents = pd.Series(
        {"story": "epic", "sub": "story", "unpriced": "parent", "orphan": "lonely"}, dtype=object
    )
    counted = counted_hours(hours, parents).to_dict()
    # the epic and the story are carried by the sub-task; a child we do not count (not in
    # `hours`) or an unpriced one carries nothing
    assert counted["epic"] == 0.0 and counted["story"] == 0.0 and counted["sub"] == 3.0
    assert counted["lonely"] == 4.0 and counted["parent"] == 5.0
