from datetime import UTC, date, datetime

import pandas as pd

from mappings.model import JiraFields, Mapping, Project
from reports.frames import empty_frames, frames_from_records
from reports.hours import issue_hours
from reports.period import period_for
from reports.scope import baseline_hours_by_issue, calculate_scope, changes_at

BASELINE = datetime(2026, 11, 2, 9, tzinfo=UTC)
PROJECT = Project(
    key="ACME", client="Acme", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=BASELINE, hours_per_point=6, weekly_capacity_hours=40,
    default_rate=50, exclude_types=("Bug",),
)  # fmt: skip
MAPPING = Mapping(jira=JiraFields(), projects=(PROJECT,), estimates=(("Story", 8.0),))
WEEK = period_for("2026-W47", "UTC")  # 2026-11-16 .. 2026-11-23 UTC


def t(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_empty_scope():
    assert calculate_scope(empty_frames(), MAPPING, PROJECT, WEEK) == {
        "baseline_hours": 0.0,
        "current_hours": 0.0,
        "raised_hours": 0.0,
        "removed_hours": 0.0,
        "changes_this_week": [],
        "pending": {"count": 0, "hours": 0.0, "cost": 0.0},
        "approved": {"count": 0, "hours": 0.0, "cost": 0.0},
        "rejected": {"count": 0, "hours": 0.0, "cost": 0.0},
        "rejected_hours_logged": 0.0,
        "awaiting_decision": [],
        "growth": [],
    }


def test_issue_hours_follow_the_pricing_rule_in_order():
    frames = frames_from_records(
        issues=[
            {
                "id": "1",
                "issue_type": "Story",
                "original_estimate_seconds": 5400,
                "story_points": 3,
            },
            {"id": "2", "issue_type": "Story", "story_points": 3},  # 3 x 6
            {"id": "3", "issue_type": "Story"},  # [estimates] Story
            {"id": "4", "issue_type": "Task"},  # nothing: unpriced, not zero
            {"id": "5", "issue_type": "Story", "original_estimate_seconds": 0},  # set to 0
        ]
    )
    hours = issue_hours(frames.issues, PROJECT, MAPPING).tolist()
    assert hours[:3] == [1.5, 18.0, 8.0]
    assert pd.isna(hours[3])
    assert hours[4] == 0.0


def test_changes_at_uses_the_decision_in_force_then_and_drops_withdrawn():
    frames = frames_from_records(
        scope_changes=[
            {"issue_id": "1", "key": "A-1", "created": t(10), "decision": "approved",
             "decided_at": t(20)},
            {"issue_id": "2", "key": "A-2", "created": None, "detected_at": t(11),
             "decision": "rejected", "decided_at": t(12)},
            {"issue_id": "3", "key": "A-3", "created": t(12), "withdrawn": True},
            {"issue_id": "4", "key": "A-4", "created": t(19), "decision": "pending"},
        ]
    )  # fmt: skip
    at_18 = changes_at(frames.scope_changes, pd.Timestamp(t(18)))
    assert at_18[["key", "decision"]].to_dict("records") == [
        {"key": "A-1", "decision": "pending"},  # approved on the 20th: still pending on the 18th
        {"key": "A-2", "decision": "rejected"},  # no Jira created: our detection time counts
    ]


def test_baseline_from_the_mapping_date_uses_the_estimate_before_growth():
    frames = frames_from_records(
        issues=[
            {"id": "1", "issue_type": "Story", "created": t(1)},  # 8
            {"id": "2", "issue_type": "Story", "created": t(1), "original_estimate_seconds": 36000},
            {"id": "3", "issue_type": "Bug", "created": t(1), "story_points": 1},  # excluded
            {"id": "4", "issue_type": "Story", "created": t(5)},  # after the baseline
            {"id": "5", "issue_type": "Story", "created": t(1), "moved_in_at": t(6)},  # moved in
            {"id": "6", "issue_type": "Story", "created": t(1)},  # but flagged as a change
        ],
        scope_changes=[{"issue_id": "6", "key": "A-6", "created": t(6)}],
        scope_growth=[  # 2: 4 h -> 6 h -> 10 h; the agreed figure is the first "from"
            {"issue_id": "2", "key": "A-2", "from_hours": 4, "to_hours": 6, "at": t(3)},
            {"issue_id": "2", "key": "A-2", "from_hours": 6, "to_hours": 10, "at": t(17)},
        ],
    )
    assert baseline_hours_by_issue(frames, PROJECT, MAPPING).to_dict() == {"1": 8.0, "2": 4.0}
    scope = calculate_scope(frames, MAPPING, PROJECT, WEEK)
    assert scope["baseline_hours"] == 12.0
    assert [(g["key"], g["from_hours"], g["to_hours"]) for g in scope["growth"]] == [
        ("A-2", 4.0, 6.0),
        ("A-2", 6.0, 10.0),
    ]


def test_a_captured_baseline_wins_over_the_mapping_date():
    frames = frames_from_records(
        issues=[{"id": "1", "issue_type": "Story", "created": t(1)}],
        baseline_items=[
            {"issue_id": "7", "key": "A-7", "issue_type": "Story", "story_points": 2},  # 12
            {"issue_id": "8", "key": "A-8", "issue_type": "Task"},  # unpriced
        ],
    )
    hours = baseline_hours_by_issue(frames, PROJECT, MAPPING)
    assert hours["7"] == 12.0 and pd.isna(hours["8"]) and "1" not in hours


def test_no_baseline_at_all_means_nothing_agreed():
    no_baseline = Project(**{**PROJECT.__dict__, "baseline": None})
    frames = frames_from_records(issues=[{"id": "1", "issue_type": "Story", "created": t(1)}])
    assert calculate_scope(frames, MAPPING, no_baseline, WEEK)["baseline_hours"] == 0.0


def test_changes_this_week_by_jira_created_not_detection():
    frames = frames_from_records(
        scope_changes=[
            # created before the week, detected inside it (a late webhook): not this week's
            {"issue_id": "1", "key": "A-1", "created": t(15), "detected_at": t(16), "hours": 2},
            {"issue_id": "2", "key": "A-2", "created": t(16, 0), "detected_at": t(16), "hours": 3},
            {"issue_id": "3", "key": "A-3", "created": t(23, 0), "detected_at": t(23)},  # next
        ]
    )
    scope = calculate_scope(frames, MAPPING, PROJECT, WEEK)
    assert [c["key"] for c in scope["changes_this_week"]] == ["A-2"]
    assert scope["pending"]["count"] == 2 and scope["current_hours"] == 5.0


def test_a_change_judged_agreed_work_counts_as_baseline_and_never_as_a_change():
    frames = frames_from_records(
        issues=[
            {"id": "1", "issue_type": "Story", "created": t(1)},  # 8 h, in the baseline by date
            {"id": "2", "issue_type": "Story", "created": t(10),
             "original_estimate_seconds": 3 * 3600},
            {"id": "3", "issue_type": "Story", "created": t(11),
             "original_estimate_seconds": 5 * 3600},
        ],
        scope_changes=[
            # judged agreed work after the week: a correction, so not pending in that week either
            {"issue_id": "2", "key": "A-2", "created": t(10), "hours": 3.0, "cost": 150.0,
             "decision": "not-scope", "decided_at": t(25)},
            {"issue_id": "3", "key": "A-3", "created": t(11), "hours": 5.0, "cost": 250.0},
        ],
    )  # fmt: skip
    scope = calculate_scope(frames, MAPPING, PROJECT, WEEK)
    assert (scope["baseline_hours"], scope["current_hours"]) == (11.0, 16.0)
    assert scope["pending"] == {"count": 1, "hours": 5.0, "cost": 250.0}
