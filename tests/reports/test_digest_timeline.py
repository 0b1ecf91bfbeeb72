from datetime import UTC, date, datetime

import pandas as pd

from mappings.model import Statuses
from reports.frames import empty_frames, frames_from_records
from reports.period import period_for
from reports.timeline import (
    calculate_milestones,
    calculate_transitions,
    issue_state,
    milestone_status,
)

WEEK = period_for("2026-W47", "UTC")
END = pd.Timestamp(WEEK.end_utc)


def t(day, hour=9):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_empty_timeline():
    frames = empty_frames()
    state = issue_state(frames, Statuses(), END)
    assert state.empty
    assert calculate_transitions(frames, WEEK) == []
    assert calculate_milestones(frames, state, pd.Series(dtype=float), WEEK, lambda h: None) == []


def history_frames():
    return frames_from_records(
        issues=[
            # reopened after the period: was Done at its end
            {"id": "1", "key": "A-1", "summary": "Reopened later", "status": "In Progress",
             "status_category": "indeterminate",
             "created": t(2), "status_since": t(24)},
            # moved to Done after the period: the "from" of that move held at the end
            {"id": "2", "key": "A-2", "status": "Done", "status_category": "done",
             "created": t(2), "status_since": t(25)},
            # no history: current status since status_since
            {"id": "3", "key": "A-3", "status": "Review", "status_category": "indeterminate",
             "created": t(2), "status_since": t(18), "flagged": True, "flagged_since": t(25)},
            {"id": "4", "key": "A-4", "status": "To Do", "status_category": "new",
             "created": t(24)},  # did not exist yet
        ],
        transitions=[
            {"issue_id": "1", "from_status": "In Progress", "to_status": "Done", "at": t(16, 0)},
            {"issue_id": "1", "from_status": "Done", "to_status": "In Progress", "at": t(24)},
            {"issue_id": "2", "from_status": "Review", "to_status": "Done", "at": t(25)},
            {"issue_id": "2", "from_status": "Odd", "to_status": "Archived", "at": t(3)},
        ],
    )  # fmt: skip


def test_state_is_as_of_the_period_end():
    state = issue_state(history_frames(), Statuses(), END)
    rows = state[["key", "status", "status_since", "done", "done_at", "flagged"]]
    assert rows.to_dict("records") == [
        {"key": "A-1", "status": "Done", "status_since": pd.Timestamp(t(16, 0)), "done": True,
         "done_at": pd.Timestamp(t(16, 0)), "flagged": False},
        # "Archived" is a status no issue holds now: unknown, so not done
        {"key": "A-2", "status": "Archived", "status_since": pd.Timestamp(t(3)), "done": False,
         "done_at": pd.NaT, "flagged": False},
        # flagged only after the period
        {"key": "A-3", "status": "Review", "status_since": pd.Timestamp(t(18)), "done": False,
         "done_at": pd.NaT, "flagged": False},
    ]  # fmt: skip


def test_transitions_inside_the_period_only():
    moves = calculate_transitions(history_frames(), WEEK)
    # Monday 00:00 is inside; the 24th and 25th are after the end
    assert moves == [
        {"key": "A-1", "summary": "Reopened later", "from": "In Progress", "to": "Done",
         "at": pd.Timestamp(t(16, 0))}
    ]  # fmt: skip


def test_milestone_status_rules():
    assert milestone_status(True, date(2026, 11, 1), None, 5, WEEK) == "released"
    assert milestone_status(False, date(2026, 11, 22), None, 0, WEEK) == "late"  # last day
    assert milestone_status(False, date(2026, 11, 30), None, 0, WEEK) == "on track"  # all done
    assert milestone_status(False, date(2026, 11, 30), None, 5, WEEK) == "at risk"  # no pace
    assert milestone_status(False, date(2026, 11, 30), date(2026, 12, 1), 5, WEEK) == "at risk"
    assert milestone_status(False, date(2026, 11, 30), date(2026, 11, 30), 5, WEEK) == "on track"


def test_milestones_sum_open_hours_of_their_issues():
    frames = frames_from_records(
        issues=[
            {"id": "1", "key": "A-1", "status": "To Do", "status_category": "new",
             "fix_version_ids": ("v",), "created": t(2)},
            {"id": "2", "key": "A-2", "status": "Done", "status_category": "done",
             "fix_version_ids": ("v",), "created": t(2)},
        ],
        versions=[{"id": "v", "name": "1.0", "release_date": date(2026, 12, 1)}],
    )  # fmt: skip
    state = issue_state(frames, Statuses(), END)
    asked = []

    def p85_for(hours):
        asked.append(hours)
        return date(2026, 11, 28)

    hours = pd.Series({"1": 6.0, "2": 50.0})
    assert calculate_milestones(frames, state, hours, WEEK, p85_for) == [
        {"name": "1.0", "due": date(2026, 12, 1), "status": "on track",
         "forecast_p85": date(2026, 11, 28)}
    ]  # fmt: skip
    assert asked == [6.0]  # the done issue's 50 h are not open


def test_state_from_histories_that_start_late_tie_or_lack_a_time():
    frames = frames_from_records(
        issues=[
            # every change came after the end: the first one's "from" held, since creation
            {"id": "1", "key": "A-1", "status": "Done", "status_category": "done",
             "created": t(2), "status_since": t(25)},
            # two changes at one moment: the one recorded last holds
            {"id": "2", "key": "A-2", "status": "Review", "status_category": "indeterminate",
             "created": t(2)},
            # a change of unknown time counts as after the end
            {"id": "3", "key": "A-3", "status": "Review", "status_category": "indeterminate",
             "created": t(2)},
        ],
        transitions=[
            {"issue_id": "1", "from_status": "Review", "to_status": "Done", "at": t(26)},
            {"issue_id": "1", "from_status": "To Do", "to_status": "Review", "at": t(25)},
            {"issue_id": "2", "from_status": "To Do", "to_status": "Blocked", "at": t(10)},
            {"issue_id": "2", "from_status": "To Do", "to_status": "Review", "at": t(10)},
            {"issue_id": "3", "from_status": "To Do", "to_status": "Review", "at": t(5)},
            {"issue_id": "3", "from_status": "Review", "to_status": "Done", "at": None},
            {"issue_id": "X", "from_status": "To Do", "to_status": "Done", "at": t(5)},
        ],
    )  # fmt: skip
    state = issue_state(frames, Statuses(), END)
    assert state[["key", "status", "status_since", "done"]].to_dict("records") == [
        {"key": "A-1", "status": "To Do", "status_since": pd.Timestamp(t(2)), "done": False},
        {"key": "A-2", "status": "Review", "status_since": pd.Timestamp(t(10)), "done": False},
        {"key": "A-3", "status": "Review", "status_since": pd.Timestamp(t(5)), "done": False},
    ]  # fmt: skip
