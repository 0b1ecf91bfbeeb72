from datetime import UTC, date, datetime

import pandas as pd

from mappings.model import Project, Statuses
from reports.frames import empty_frames, frames_from_records
from reports.period import period_for
from reports.risks import calculate_questions, calculate_risks
from reports.scope import changes_at
from reports.timeline import issue_state

PROJECT = Project(
    key="ACME", client="Acme", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=None, hours_per_point=6, weekly_capacity_hours=40,
    default_rate=50,
)  # fmt: skip
WEEK = period_for("2026-W47", "UTC")
END = pd.Timestamp(WEEK.end_utc)


def t(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def risks(frames=None, **kw):
    frames = frames or empty_frames()
    args = {"cpi": None, "runway": None, "blockers": [],
            "changes": changes_at(frames.scope_changes, END)} | kw  # fmt: skip
    return calculate_risks(issue_state(frames, Statuses(), END), PROJECT, WEEK, **args)


def test_empty_risks_and_questions():
    assert risks() == []
    assert calculate_questions(issue_state(empty_frames(), Statuses(), END), WEEK) == []


def test_thresholds_are_strict():
    assert risks(cpi=0.9) == [] and len(risks(cpi=0.89)) == 1
    assert risks(runway=PROJECT.end) == [] and len(risks(runway=date(2026, 12, 26))) == 1
    old = {"key": "A-1", "summary": "S", "age_days": 6, "waiting_on": "client"}
    assert risks(blockers=[{**old, "age_days": 5}]) == []
    assert risks(blockers=[old]) == [
        {"title": "A-1 has been blocked for 6 days", "why": "Waiting on the client: S"}
    ]


def test_raised_risks_and_waiting_decisions():
    frames = frames_from_records(
        issues=[
            {"id": "1", "key": "A-1", "summary": "Vendor", "issue_type": "Risk", "status": "To Do",
             "status_category": "new", "created": t(1)},
            {"id": "2", "key": "A-2", "summary": "Key person leaves", "labels": ("RISK",),
             "status": "To Do", "status_category": "new", "created": t(1)},
            {"id": "3", "key": "A-3", "summary": "Mitigated", "issue_type": "Risk",
             "status": "Done", "status_category": "done", "created": t(1)},
        ],
        scope_changes=[  # pending 8 days 12 hours (listed) and 7 days 12 hours (not yet)
            {"issue_id": "4", "key": "A-4", "summary": "Reports", "created": t(14)},
            {"issue_id": "5", "key": "A-5", "summary": "Search", "created": t(15)},
        ],
    )  # fmt: skip
    assert risks(frames) == [
        {"title": "Vendor", "why": "Raised in Jira as A-1."},
        {"title": "Key person leaves", "why": "Raised in Jira as A-2."},
        {"title": "A decision on A-4 is overdue",
         "why": 'The scope change "Reports" has waited 8 days for approval or rejection.'},
    ]  # fmt: skip


def test_open_questions_by_type_or_label_with_their_age():
    frames = frames_from_records(
        issues=[
            {"id": "1", "key": "A-1", "summary": "SSO?", "issue_type": "Question",
             "status": "To Do", "status_category": "new", "created": t(3)},
            {"id": "2", "key": "A-2", "summary": "Colours?", "labels": ("question",),
             "status": "To Do", "status_category": "new", "created": t(20)},
            {"id": "3", "key": "A-3", "summary": "Answered", "issue_type": "Question",
             "status": "Done", "status_category": "done", "created": t(1)},
        ]
    )  # fmt: skip
    assert calculate_questions(issue_state(frames, Statuses(), END), WEEK) == [
        {"key": "A-1", "summary": "SSO?", "age_days": 19},
        {"key": "A-2", "summary": "Colours?", "age_days": 2},
    ]


def test_many_old_blockers_name_the_worst_five_and_count_the_rest():
    blockers = [
        {"key": f"A-{n}", "summary": "S", "age_days": 6 + n, "waiting_on": "team"} for n in range(8)
    ]
    titles = [r["title"] for r in risks(blockers=blockers)]
    assert titles == [
        "A-7 has been blocked for 13 days",
        "A-6 has been blocked for 12 days",
        "A-5 has been blocked for 11 days",
        "A-4 has been blocked for 10 days",
        "A-3 has been blocked for 9 days",
        "3 more items blocked for over 5 days",
    ]


def test_a_decision_waits_from_when_scopewatch_flagged_it_not_from_jira_creation():
    months_ago = datetime(2026, 8, 20, 9, tzinfo=UTC)
    frames = frames_from_records(
        scope_changes=[
            # An old issue flagged on first contact, the day before the period's end.
            {"issue_id": "4", "key": "A-4", "summary": "Kickoff", "created": months_ago,
             "detected_at": t(22)},
            # Flagged long ago, reopened (decided `pending`) three days before the end.
            {"issue_id": "5", "key": "A-5", "summary": "Search", "created": months_ago,
             "detected_at": t(1), "decision": "pending", "decided_at": t(20)},
            # Flagged long ago and never decided: overdue, counted from the flagging.
            {"issue_id": "6", "key": "A-6", "summary": "Reports", "created": months_ago,
             "detected_at": t(13)},
        ],
    )  # fmt: skip
    assert risks(frames) == [
        {"title": "A decision on A-6 is overdue",
         "why": 'The scope change "Reports" has waited 9 days for approval or rejection.'},
    ]  # fmt: skip
