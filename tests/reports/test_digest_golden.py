"""The whole digest of one small, fixed project history, every figure computed by hand.

Project ACME runs Monday 2026-11-02 to Sunday 2026-12-27 (8 weeks = 56 days) in Europe/Berlin;
the digest is for 2026-W47: Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00 (Berlin), which
is 21 days into the plan. The same records are then written to a real SQLite database, and
`digest_for` must give exactly the same digest.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, insert

from mappings.model import DigestSchedule, JiraFields, Mapping, Project, Rate, Statuses
from reports.digest import build_digest
from reports.frames import frames_from_records
from service.digest.load import digest_for
from service.store import schema

BERLIN = ZoneInfo("Europe/Berlin")
OCT30 = datetime(2026, 10, 30, 9, tzinfo=BERLIN)  # before the baseline: agreed scope
SCRIPT = "Design review <script>alert(1)</script>"


def b(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 wall-clock time in Berlin (CET, UTC+1 all month)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


PROJECT = Project(
    key="ACME", client="Acme Corp", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=b(2, 9), hours_per_point=6, weekly_capacity_hours=40,
    default_rate=50, exclude_types=("Bug", "Risk", "Question"),
    digest=DigestSchedule(to=("pm@acme.example",), tz="Europe/Berlin"),
    categories=(("Backend", 6_000.0), ("Frontend", 3_000.0)),
)  # fmt: skip
MAPPING = Mapping(
    jira=JiraFields(),
    projects=(PROJECT,),
    rates=(("developer", Rate(100.0)), ("designer", Rate(80.0))),
    people=(("dev-1", "developer"), ("des-1", "designer")),  # ext-9 is unknown: default 50
    estimates=(("Story", 8.0), ("Task", 4.0)),
    statuses=Statuses(),
)


def issue(id_: str, summary: str, type_: str, status: str, category: str, **kw: Any) -> dict:
    return {"id": id_, "key": f"A-{id_}", "summary": summary, "issue_type": type_,
            "status": status, "status_category": category, "created": OCT30,
            "status_since": OCT30, **kw}  # fmt: skip


ISSUES = [
    issue("1", "Login API", "Story", "Done", "done", assignee="dev-1", components=("Backend",),
          fix_version_ids=("9",), original_estimate_seconds=12 * 3600, status_since=b(5, 12),
          resolved=b(5, 12)),
    issue("2", "Signup form", "Story", "Done", "done", assignee="des-1", components=("Frontend",),
          story_points=2.0, status_since=b(12, 15), resolved=b(12, 15)),
    issue("3", "Payments", "Story", "Blocked", "indeterminate", assignee="dev-1",
          components=("Backend",), fix_version_ids=("10",), status_since=b(12, 9)),
    issue("4", SCRIPT, "Task", "Waiting for client", "indeterminate", assignee="des-1",
          components=("Design",), fix_version_ids=("20",), status_since=b(19, 10)),
    issue("5", "Copy text", "Task", "In Progress", "indeterminate", assignee="dev-1",
          components=("Frontend",), fix_version_ids=("20",), original_estimate_seconds=6 * 3600,
          flagged=True, flagged_since=b(20, 8), status_since=b(11, 9)),
    issue("6", "Vendor may be late", "Risk", "To Do", "new"),
    issue("7", "Which SSO provider?", "Question", "To Do", "new", fix_version_ids=("99",),
          created=b(4, 9), status_since=b(4, 9)),
    issue("8", "Dark mode", "Story", "To Do", "new", components=("Frontend",),
          fix_version_ids=("20",), story_points=2.0, created=b(17, 10), status_since=b(17, 10)),
    issue("9", "Export CSV", "Story", "Done", "done", assignee="dev-1", components=("Backend",),
          original_estimate_seconds=12 * 3600, created=b(5, 10), status_since=b(20, 10),
          resolved=b(20, 10)),
    issue("10", "Animated logo", "Task", "To Do", "new", created=b(6, 10), status_since=b(6, 10)),
    issue("11", "Audit log", "Task", "To Do", "new", components=("Backend",),
          fix_version_ids=("8",), created=b(10, 9), status_since=b(10, 9)),
    issue("12", "Refunds", "Task", "In Progress", "indeterminate", components=("Backend",),
          fix_version_ids=("10",), original_estimate_seconds=2 * 3600, status_since=b(23, 0)),
    issue("14", "Created after the period", "Task", "To Do", "new", created=b(24, 9),
          status_since=b(24, 9)),
]  # fmt: skip
BY_ID = {i["id"]: i for i in ISSUES}

TRANSITIONS = [
    ("1", "To Do", "In Progress", b(3, 10)), ("1", "In Progress", "Done", b(5, 12)),
    ("2", "To Do", "In Progress", b(9, 10)), ("2", "In Progress", "Done", b(12, 15)),
    ("3", "To Do", "In Progress", b(3, 10)), ("3", "In Progress", "Blocked", b(12, 9)),
    ("4", "To Do", "In Progress", b(10, 9)), ("4", "In Progress", "Waiting for client", b(19, 10)),
    ("5", "To Do", "In Progress", b(11, 9)),
    ("9", "To Do", "In Progress", b(12, 9)), ("9", "In Progress", "Done", b(20, 10)),
    ("12", "To Do", "In Progress", b(23, 0)),  # exactly at the period's end: not in it
]  # fmt: skip

# (issue, author, started, hours)
WORKLOGS = [
    ("1", "dev-1", b(3, 9), 30),  # W45 Backend   30 h x 100 = 3000
    ("2", "des-1", b(4, 9), 10),  # W45 Frontend  10 h x  80 =  800
    ("3", "dev-1", b(10, 9), 30),  # W46 Backend   30 h x 100 = 3000
    ("10", "ext-9", b(10, 14), 2),  # W46 (none)     2 h x  50 =  100, on the rejected change
    ("2", "dev-1", b(17, 9), 12),  # W47 Frontend  12 h x 100 = 1200
    ("2", "des-1", b(18, 9), 5),  # W47 Frontend   5 h x  80 =  400
    ("3", "dev-1", b(22, 23, 30), 1),  # W47, Sunday 23:30 Berlin: 1 h x 100 = 100
    ("3", "dev-1", b(23, 0, 30), 3),  # Monday 00:30 Berlin = Sunday 23:30 UTC: next week
]

VERSIONS = [
    {"id": "8", "name": "v0.8", "release_date": date(2026, 11, 20), "released": False},
    {"id": "9", "name": "v0.9", "release_date": date(2026, 11, 13), "released": True},
    {"id": "10", "name": "v1.0", "release_date": date(2026, 12, 6), "released": False},
    {"id": "20", "name": "v2.0", "release_date": date(2026, 12, 1), "released": False},
    {"id": "99", "name": "Backlog", "release_date": None, "released": False},
]


def change(id_: str, hours: float, source: str, decision: str, created: datetime, **kw: Any):
    return {"issue_id": id_, "key": f"A-{id_}", "summary": BY_ID.get(id_, {}).get("summary", ""),
            "issue_type": BY_ID.get(id_, {}).get("issue_type", "Task"), "created": created,
            "detected_at": created.replace(minute=5), "hours": hours, "hours_source": source,
            "cost": hours * 100, "currency": "EUR", "schedule_days": hours / 8,
            "decision": decision, "written_back": True, **kw}  # fmt: skip


SCOPE_CHANGES = [
    change("8", 12, "story_points", "pending", b(17, 10)),
    change("9", 12, "estimate", "approved", b(5, 10), decided_at=b(9, 10)),
    change(
        "10", 4, "default", "rejected", b(6, 10), decided_at=b(8, 10), rejected_logged_seconds=7200
    ),
    change("11", 4, "default", "pending", b(10, 9), written_back=False),
    change("13", 8, "default", "pending", b(18, 9), withdrawn=True),  # its issue was deleted
    change("14", 4, "default", "pending", b(24, 9)),  # created after the period
]
GROWTH = [{"issue_id": "5", "key": "A-5", "from_hours": 4.0, "to_hours": 6.0, "at": b(17, 9)}]
FLAGS = [
    {"issue_id": "5", "field": "Flagged", "to_value": "Impediment", "at": b(20, 8)},
    {"issue_id": "12", "field": "Flagged", "to_value": "Impediment", "at": b(4, 9)},
    {"issue_id": "12", "field": "Flagged", "from_value": "Impediment", "at": b(6, 9)},
]
LINKS = [  # A-3 (open) and A-1 (done) both block A-12
    {"source_issue_id": "3", "destination_issue_id": "12", "created": b(13, 9),
     "source_status_category": "indeterminate"},
    {"source_issue_id": "1", "destination_issue_id": "12", "created": b(5, 9),
     "source_status_category": "done"},
]  # fmt: skip
FEEDBACK = [
    {"week": "2026-W45", "happy": True, "score": 4, "comment": None, "at": b(10, 9)},
    {"week": "2026-W46", "happy": False, "score": 3, "comment": "Slow", "at": b(16, 9)},
    {"week": "2026-W46", "happy": True, "score": 5, "comment": "Great <b>progress</b>",
     "at": b(17, 9)},
    {"week": "2026-W47", "happy": False, "score": 1, "comment": "late", "at": b(23, 8)},
]  # fmt: skip


def golden_frames():
    return frames_from_records(
        issues=ISSUES,
        worklogs=[
            {
                "started": at,
                "author": who,
                "components": BY_ID[i].get("components", ()),
                "seconds": h * 3600,
            }
            for i, who, at, h in WORKLOGS
        ],  # fmt: skip
        transitions=[
            {"issue_id": i, "from_status": f, "to_status": t, "at": at}
            for i, f, t, at in TRANSITIONS
        ],
        field_changes=FLAGS,
        links=LINKS,
        versions=VERSIONS,
        scope_changes=SCOPE_CHANGES,
        scope_growth=GROWTH,
        feedback=FEEDBACK,
    )


@pytest.fixture(scope="module")
def digest() -> dict:
    return build_digest(golden_frames(), MAPPING, "ACME", "2026-W47", feedback_link="https://x/f")


def test_digest_header(digest):
    assert digest["project"] == "ACME"
    assert digest["client"] == "Acme Corp"
    assert digest["week"] == "2026-W47"
    assert digest["currency"] == "EUR"
    assert digest["period"] == {
        "start": "2026-11-16T00:00:00+01:00",
        "end": "2026-11-23T00:00:00+01:00",
        "as_of": "2026-11-23T00:00:00+01:00",  # a past week: as of its end
    }


def test_digest_budget(digest):
    budget = {k: v for k, v in digest["budget"].items() if k not in ("evm", "contract")}
    assert digest["budget"]["contract"] == {
        "type": "time_and_materials",
        "summary": "€8,600 of the €11,200 cap billed (77%); €2,600 left.",
    }
    assert budget == {
        "total": 11_200.0,  # 10000 + the approved A-9 (1200)
        "spent": 8_600.0,  # 3000 + 800 + 3000 + 100 + 1200 + 400 + 100; Monday 00:30 is out
        "spent_this_week": 1_700.0,  # 1200 + 400 + 100 (Sunday 23:30 Berlin is still W47)
        "remaining": 2_600.0,  # 11200 - 8600
        "burn_pct": 76.8,  # 8600 / 11200 = 76.79 %
        # the project started in W45, so "the last four weeks" are W45..W47:
        # 8600 / 3 = 2866.67 a week; 2600 / 2866.67 = 0.907 weeks = 6.35 days after Nov 23 00:00
        "runway_date": "2026-11-29",
        "by_category": [
            # 6000 + the approved A-9 (Backend, 1200); spent 3000 + 3000 + 100
            {"category": "Backend", "budget": 7_200.0, "spent": 6_100.0},
            {"category": "Frontend", "budget": 3_000.0, "spent": 2_400.0},  # 800 + 1200 + 400
            # 10000 - (6000 + 3000) is uncovered; A-10 has no component (ext-9: 2 h x 50)
            {"category": "Uncategorised", "budget": 1_000.0, "spent": 100.0},
        ],
    }


def test_digest_evm(digest):
    evm = dict(digest["budget"]["evm"])
    explain = evm.pop("explain")
    assert evm == {
        "bac": 11_200.0,
        "pv": 4_200.0,  # 11200 x 21/56 days
        # planned hours: baseline 42 (A-1 12, A-2 12, A-3 8, A-4 4, A-5 4 before growth,
        # A-12 2) + approved A-9 12 = 54; done, A-9 = 36; 11200 x 36/54
        "ev": 7_466.67,
        "ac": 8_600.0,
        "cpi": 0.87,  # 7466.67 / 8600 = 0.868
        "spi": 1.78,  # 7466.67 / 4200 = 1.778
        "eac": 12_900.0,  # 11200 / 0.868 = 11200 x 8600 / 7466.67
        "etc": 4_300.0,  # 12900 - 8600
        "vac": -1_700.0,  # 11200 - 12900
    }
    assert explain["cpi"] == "For every euro spent, 0.87 euros of planned work was delivered."
    assert explain["vac"] == "The project is forecast to end €1,700 over budget."
    assert explain["spi"] == "Work is being delivered at 1.78 times the planned pace."
    assert set(explain) == set(evm)


def test_digest_scope(digest):
    scope = digest["scope"]
    assert scope["baseline_hours"] == 42.0  # 12 + 12 + 8 + 4 + 4 + 2 (A-6 is a Risk: excluded)
    # current = baseline 42 + approved 12 + pending 16 (A-8 12, A-11 4) + raised 2 (A-5 4 -> 6)
    assert scope["current_hours"] == 72.0
    assert (scope["raised_hours"], scope["removed_hours"]) == (2.0, 0.0)
    assert scope["pending"] == {"count": 2, "hours": 16.0, "cost": 1_600.0}
    assert scope["approved"] == {"count": 1, "hours": 12.0, "cost": 1_200.0}
    assert scope["rejected"] == {"count": 1, "hours": 4.0, "cost": 400.0}
    assert scope["rejected_hours_logged"] == 2.0  # ext-9's 2 h on A-10
    # Only A-8 was created inside the week (A-13 is withdrawn, A-14 came later).
    assert scope["changes_this_week"] == [
        {
            "key": "A-8", "summary": "Dark mode", "issue_type": "Story",
            "created": "2026-11-17T10:00:00+01:00", "detected_at": "2026-11-17T10:05:00+01:00",
            "hours": 12.0, "hours_source": "story_points", "cost": 1_200.0, "currency": "EUR",
            "schedule_days": 1.5, "decision": "pending", "written_back": True,
        }
    ]  # fmt: skip
    assert scope["growth"] == [
        {"key": "A-5", "summary": "Copy text", "from_hours": 4.0, "to_hours": 6.0,
         "at": "2026-11-17T09:00:00+01:00"}
    ]  # fmt: skip


def test_digest_timeline(digest):
    timeline = digest["timeline"]
    assert (timeline["start"], timeline["end"]) == ("2026-11-02", "2026-12-27")
    # Done hours per week W45..W47: A-1 12, A-2 12, A-9 12: always 12, so every trial agrees.
    # Open: A-3 8 + A-4 4 + A-5 6 + A-12 2 + A-8 12 + A-11 4 = 36 h = 3 weeks from Nov 23,
    # ending Sunday Dec 13. Without A-8 (new this week): 24 h = 2 weeks, Dec 6: moved 7 days.
    # Every open hour is in a milestone, so the last milestone finishes with the project.
    assert timeline["forecast"] == {
        "p50": "2026-12-13", "p85": "2026-12-13", "p95": "2026-12-13", "moved_days": 7,
        "reason": None, "unscheduled_hours": 0.0,
    }  # fmt: skip
    # Milestones are delivered in due order: each forecast covers the open work due before it.
    assert timeline["milestones"] == [
        {"name": "v0.9", "due": "2026-11-13", "status": "released", "forecast_p85": None},
        # A-11 4 h: 4/12 week = 2.33 days -> Nov 25; due before the period ended
        {"name": "v0.8", "due": "2026-11-20", "status": "late", "forecast_p85": "2026-11-25"},
        # 4 + A-4 4 + A-5 6 + A-8 12 = 26 h: 26/12 week = 15.17 days -> Dec 8, after Dec 1
        {"name": "v2.0", "due": "2026-12-01", "status": "at risk", "forecast_p85": "2026-12-08"},
        # 26 + A-3 8 + A-12 2 = 36 h: the project's own p85, Dec 13, after Dec 6
        {"name": "v1.0", "due": "2026-12-06", "status": "at risk", "forecast_p85": "2026-12-13"},
    ]


def test_digest_blockers_transitions_risks_questions(digest):
    # Ages to Nov 23 00:00, in whole days.
    assert digest["blockers"] == [
        {"key": "A-3", "summary": "Payments", "since": "2026-11-12T09:00:00+01:00",
         "age_days": 10, "waiting_on": "team", "owner": "dev-1"},  # status Blocked
        {"key": "A-12", "summary": "Refunds", "since": "2026-11-13T09:00:00+01:00",
         "age_days": 9, "waiting_on": "team", "owner": None},  # blocked by A-3 (A-1 is done)
        {"key": "A-4", "summary": SCRIPT, "since": "2026-11-19T10:00:00+01:00",
         "age_days": 3, "waiting_on": "client", "owner": "des-1"},
        {"key": "A-5", "summary": "Copy text", "since": "2026-11-20T08:00:00+01:00",
         "age_days": 2, "waiting_on": "team", "owner": "dev-1"},  # flagged
    ]  # fmt: skip
    assert digest["transitions"] == [
        {"key": "A-4", "summary": SCRIPT, "from": "In Progress", "to": "Waiting for client",
         "at": "2026-11-19T10:00:00+01:00"},
        {"key": "A-9", "summary": "Export CSV", "from": "In Progress", "to": "Done",
         "at": "2026-11-20T10:00:00+01:00"},
    ]  # fmt: skip
    assert [r["title"] for r in digest["risks"]] == [
        "Vendor may be late",  # raised in Jira
        "Delivery is costing more than planned",  # CPI 0.87 < 0.90
        "The budget may run out before the end date",  # Nov 29 < Dec 27
        "A-3 has been blocked for 10 days",  # > 5 days
        "A-12 has been blocked for 9 days",
        "A decision on A-11 is overdue",  # pending since Nov 10 09:00: 12 days > 7
    ]
    assert digest["risks"][0]["why"] == "Raised in Jira as A-6."
    assert digest["risks"][1]["why"] == (
        "The cost performance index is 0.87, below the 0.90 alarm line: each unit of money spent "
        "delivered 0.87 of planned work."
    )
    assert digest["risks"][2]["why"] == (
        "At the last four weeks' spending the money lasts until 29 Nov 2026, before the planned "
        "end on 27 Dec 2026."
    )
    assert digest["questions"] == [
        {"key": "A-7", "summary": "Which SSO provider?", "age_days": 18}  # since Nov 4 09:00
    ]


def test_digest_feedback_headline_series(digest):
    assert digest["feedback"] == {
        "link": "https://x/f",
        # the Nov 23 08:00 answer came after the period
        "last": {"happy": True, "score": 5, "comment": "Great <b>progress</b>",
                 "at": "2026-11-17T09:00:00+01:00"},
        "trend": [4.0, 4.0],  # W45: 4; W46: (3 + 5) / 2
    }  # fmt: skip
    # The headline repeats the sections' figures; bad news first.
    assert digest["headline"] == {
        # EAC 12900 is 15% over the 11200 budget (> 10%): off track; A-11 has waited 12 days
        # for a decision (> 7)
        "contract": "time_and_materials",
        "status": "off track",
        "status_reasons": ["cost_over_budget", "client_waiting"],
        "spent_pct": 77,  # 76.79 %
        "spent": 8_600.0,
        "budget": 11_200.0,
        "forecast_cost": 12_900.0,  # budget.evm.eac
        "planned_end": "2026-12-27",
        "forecast_finish": "2026-12-13",  # timeline.forecast.p85
        "finish_late_days": -14,  # two weeks early
        "decisions_waiting": 2,  # scope.pending
        "decisions_cost": 1_600.0,
        "changes_count": 1,
        "changes_cost": 1_200.0,
        "blockers_on_client": 1,
    }
    assert digest["series"] == {
        "weeks": ["2026-W45", "2026-W46", "2026-W47"],
        "week_end": ["2026-11-08", "2026-11-15", "2026-11-22"],
        "spent_cum": [3_800.0, 6_900.0, 8_600.0],  # 3000 + 800; + 3000 + 100; + 1700
        # A-9 was approved on Nov 9, after the first week ended
        "budget_total": [10_000.0, 11_200.0, 11_200.0],
        "planned_cum": [1_250.0, 2_800.0, 4_200.0],  # 10000 x 7/56, 11200 x 14/56, x 21/56
        "baseline_hours": [42.0, 42.0, 42.0],
        # W45: A-9 (pending then) 12; W46: A-9 + A-11 4; W47: + A-8 12 and A-5 raised 2.
        # A-10 was rejected.
        "current_hours": [54.0, 58.0, 72.0],
    }


def test_digest_is_plain_json_and_text_is_not_escaped(digest):
    text = json.dumps(digest, allow_nan=False)  # no NaN, no numpy types
    assert json.loads(text) == digest
    assert digest["blockers"][2]["summary"] == "Design review <script>alert(1)</script>"


def test_digest_is_reproducible(digest):
    again = build_digest(golden_frames(), MAPPING, "ACME", "2026-W47", feedback_link="https://x/f")
    assert again == digest


# --- the same history through a real SQLite database ----------------------------------------


def _db_rows() -> dict[str, list[dict[str, Any]]]:
    names = {v["id"]: v for v in VERSIONS}
    issues = []
    for i in ISSUES:
        row = {k: v for k, v in i.items() if k != "fix_version_ids"}
        row.update(project_key="ACME", components=list(i.get("components", ())),
                   labels=list(i.get("labels", ())), updated=i["created"],
                   fix_versions=[{"id": v, "name": names[v]["name"],
                                  "releaseDate": str(names[v]["release_date"] or "") or None}
                                 for v in i.get("fix_version_ids", ())])  # fmt: skip
        issues.append(row)
    # Rows the digest must not see: another project, a deleted issue and a deleted worklog.
    issues.append({"id": "500", "key": "OTHER-1", "project_key": "OTHER", "created": OCT30})
    issues.append({"id": "13", "key": "A-13", "project_key": "ACME", "created": b(18, 9),
                   "deleted": True})  # fmt: skip
    worklogs = [
        {"id": f"w{n}", "issue_id": i, "author": who, "started": at, "seconds": h * 3600,
         "updated": at}
        for n, (i, who, at, h) in enumerate(WORKLOGS)
    ]  # fmt: skip
    worklogs += [
        {"id": "x1", "issue_id": "500", "author": "dev-1", "started": b(17, 9), "seconds": 36000,
         "updated": b(17, 9)},
        {"id": "x2", "issue_id": "13", "author": "dev-1", "started": b(18, 9), "seconds": 36000,
         "updated": b(18, 9)},
        {"id": "x3", "issue_id": "1", "author": "dev-1", "started": b(18, 9), "seconds": 36000,
         "updated": b(18, 9), "deleted": True},
    ]  # fmt: skip
    links = [{**link, "id": f"l{n}", "link_type": "Blocks"} for n, link in enumerate(LINKS)]
    for link in links:
        link.pop("source_status_category")
    links.append({"id": "l8", "source_issue_id": "3", "destination_issue_id": "5",
                  "link_type": "Blocks", "created": b(14, 9), "deleted": True})  # fmt: skip
    links.append({"id": "l9", "source_issue_id": "3", "destination_issue_id": "4",
                  "link_type": "Relates", "created": b(14, 9)})  # fmt: skip
    links.append({"id": "l10", "source_issue_id": "13", "destination_issue_id": "12",
                  "link_type": "Blocks", "created": b(6, 9)})  # A-13 is deleted  # fmt: skip
    changes = []
    for c in SCOPE_CHANGES:
        row = {k: v for k, v in c.items() if k not in ("written_back", "rejected_logged_seconds")}
        row.update(project_key="ACME", impact_version=1,
                   written_version=1 if c["written_back"] else 0)  # fmt: skip
        changes.append(row)
    return {
        "issues": issues,
        "worklogs": worklogs,
        "transitions": [
            {"issue_id": i, "from_status": f, "to_status": t, "at": at}
            for i, f, t, at in TRANSITIONS
        ],
        "field_changes": FLAGS,
        "links": links,
        "versions": [{**v, "project_key": "ACME"} for v in VERSIONS],
        "scope_changes": changes,
        "scope_growth": [{**g, "project_key": "ACME"} for g in GROWTH],
        "feedback": [
            {**f, "project_key": "ACME", "nonce": f"n{n}"} for n, f in enumerate(FEEDBACK)
        ],
    }


def test_digest_from_sqlite_equals_digest_from_frames(tmp_path, digest):
    engine = create_engine(f"sqlite:///{tmp_path / 'mirror.db'}")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        for table, rows in _db_rows().items():
            for row in rows:  # one by one: the rows do not all name the same columns
                conn.execute(insert(schema.metadata.tables[table]).values(row))
    with engine.connect() as conn:
        from_db = digest_for(conn, MAPPING, "ACME", "2026-W47", feedback_link="https://x/f")
    engine.dispose()
    assert from_db == digest


def test_digest_from_each_supported_database_equals_digest_from_frames(engine, digest):
    """`engine` (tests/conftest.py) is a migrated SQLite file, then a PostgreSQL database."""
    with engine.begin() as conn:
        for table, rows in _db_rows().items():
            for row in rows:
                conn.execute(insert(schema.metadata.tables[table]).values(row))
    with engine.connect() as conn:
        from_db = digest_for(conn, MAPPING, "ACME", "2026-W47", feedback_link="https://x/f")
    assert from_db == digest
