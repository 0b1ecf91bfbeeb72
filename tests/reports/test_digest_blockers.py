from datetime import UTC, datetime

import pandas as pd

from mappings.model import Statuses
from reports.blockers import calculate_blockers
from reports.frames import empty_frames, frames_from_records
from reports.period import period_for
from reports.timeline import issue_state

WEEK = period_for("2026-W47", "UTC")  # ends 2026-11-23 00:00 UTC
STATUSES = Statuses(blocked=("Blocked",), waiting_on_client=("Waiting for client",))


def t(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def blockers(frames):
    state = issue_state(frames, STATUSES, pd.Timestamp(WEEK.end_utc))
    return calculate_blockers(frames, state, STATUSES, WEEK)


def test_empty_blockers():
    assert blockers(empty_frames()) == []


def issue(id_, status="In Progress", category="indeterminate", **kw):
    return {"id": id_, "key": f"A-{id_}", "summary": f"Issue {id_}", "status": status,
            "status_category": category, "created": t(1), "status_since": t(10), **kw}  # fmt: skip


def test_each_reason_its_party_and_its_since():
    frames = frames_from_records(
        issues=[
            # waiting on the client and flagged: the client comes first
            issue("1", "WAITING FOR CLIENT", status_since=t(20), flagged=True,
                  flagged_since=t(18), assignee="ann"),
            issue("2", "Blocked", status_since=t(15, 0)),
            issue("3", flagged=True, flagged_since=t(21)),
            issue("4"),  # blocked by 5 (open) and 6 (done)
            issue("5", "To Do", "new"),
            issue("6", "Done", "done"),
            issue("7", "Blocked", "done"),  # done: nothing blocks a finished issue
            issue("8"),  # blocked by an issue of another project, done there
            issue("9"),  # blocked by an issue of another project, still open
        ],
        links=[
            {"source_issue_id": "5", "destination_issue_id": "4", "created": t(19)},
            {"source_issue_id": "6", "destination_issue_id": "4", "created": t(2)},
            {"source_issue_id": "X-1", "destination_issue_id": "8", "created": t(2),
             "source_status_category": "done"},
            {"source_issue_id": "X-2", "destination_issue_id": "9", "created": t(22, 23),
             "source_status_category": "indeterminate"},
        ],
    )  # fmt: skip
    found = [(b["key"], b["waiting_on"], b["since"], b["age_days"]) for b in blockers(frames)]
    # ages to Nov 23 00:00 in whole days
    assert found == [
        ("A-2", "team", pd.Timestamp(t(15, 0)), 8),
        ("A-4", "team", pd.Timestamp(t(19)), 3),  # 3 days 12 hours
        ("A-1", "client", pd.Timestamp(t(20)), 2),
        ("A-3", "team", pd.Timestamp(t(21)), 1),
        ("A-9", "team", pd.Timestamp(t(22, 23)), 0),
    ]
    assert blockers(frames)[2]["owner"] == "ann"
