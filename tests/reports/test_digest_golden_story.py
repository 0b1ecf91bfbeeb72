"""One story told by every section: a small project with the cases that used to disagree.

A captured baseline holds an epic with two stories, a task whose estimate was later raised from
10 h to 20 h, a Bug with an estimate (an excluded type) and a task deleted since; new scope holds
an epic with a story of its own. The capture's summary, the scope section, the headline and the
series must all tell the same numbers, and a mid-week preview measures ages to its own moment.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from mappings.model import DigestSchedule, JiraFields, Mapping, Project, Statuses
from reports import formats
from reports.digest import build_digest
from reports.frames import frames_from_records
from reports.render import render_text
from service.scope.capture import baseline_hours


def t(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


PROJECT = Project(
    key="STORY", client="Story Ltd", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=None, hours_per_point=6, weekly_capacity_hours=40,
    default_rate=100, exclude_types=("Bug",), digest=DigestSchedule(to=("pm@x.example",)),
)  # fmt: skip
MAPPING = Mapping(
    jira=JiraFields(),
    projects=(PROJECT,),
    estimates=(("Story", 8.0), ("Task", 4.0), ("Epic", 40.0)),
    statuses=Statuses(),
)
H = 3600

# (id, type, parent, estimate seconds, story points) as captured on Nov 1
CAPTURED = [
    ("E1", "Epic", None, None, None),  # 40 h by default, but carried by S1 and S2
    ("S1", "Story", "E1", 8 * H, None),  # 8 h
    ("S2", "Story", "E1", None, 2.0),  # 2 points x 6 = 12 h
    ("T1", "Task", None, 10 * H, None),  # 10 h, raised to 20 h on Nov 18
    ("B1", "Bug", None, 3 * H, None),  # an excluded type: counted by no one
    ("T2", "Task", None, None, None),  # 4 h by default; deleted since
]


def issue(id_: str, type_: str, parent: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"id": id_, "key": f"S-{id_}", "summary": f"{type_} {id_}", "issue_type": type_,
            "parent_id": parent, "status": "To Do", "status_category": "new",
            "created": datetime(2026, 10, 30, tzinfo=UTC), "status_since": t(2), **kw}  # fmt: skip


ISSUES = [
    issue("E1", "Epic"),
    issue("S1", "Story", "E1", original_estimate_seconds=8 * H, status="Done",
          status_category="done", status_since=t(12), resolved=t(12)),
    issue("S2", "Story", "E1", story_points=2.0, status="Waiting for client",
          status_category="indeterminate", status_since=t(16)),
    issue("T1", "Task", original_estimate_seconds=20 * H),
    issue("B1", "Bug", original_estimate_seconds=3 * H),
    # new scope
    issue("C1", "Story", story_points=2.0, created=t(17)),
    issue("C2", "Task", original_estimate_seconds=6 * H, created=t(5)),
    issue("C3", "Task", original_estimate_seconds=5 * H, created=t(9)),
    issue("E2", "Epic", created=t(10)),
    issue("C4", "Story", "E2", created=t(11)),
]  # fmt: skip


def change(id_: str, hours: float, decision: str, created: datetime, **kw: Any) -> dict:
    return {"issue_id": id_, "key": f"S-{id_}", "summary": f"change {id_}", "issue_type": "Task",
            "created": created, "detected_at": created, "hours": hours,
            "hours_source": "estimate", "cost": hours * 100, "currency": "EUR",
            "schedule_days": hours / 8, "decision": decision, "written_back": True,
            **kw}  # fmt: skip


CHANGES = [
    change("C1", 12, "pending", t(17)),
    change("C2", 6, "approved", t(5), decided_at=t(6)),
    change("C3", 5, "rejected", t(9), decided_at=t(10)),
    change("E2", 40, "pending", t(10)),  # a new epic at its default 40 h ...
    change("C4", 8, "pending", t(11)),  # ... carried by its own new story
]


def frames():
    return frames_from_records(
        issues=ISSUES,
        baseline_items=[
            {
                "issue_id": i,
                "key": f"S-{i}",
                "issue_type": ty,
                "original_estimate_seconds": est,
                "story_points": sp,
            }
            for i, ty, _, est, sp in CAPTURED
        ],  # fmt: skip
        scope_changes=CHANGES,
        scope_growth=[
            {"issue_id": "T1", "key": "S-T1", "from_hours": 10.0, "to_hours": 20.0, "at": t(18)}
        ],
        worklogs=[{"started": t(10), "author": "dev", "seconds": 30 * H}],  # 3000 spent
    )


@pytest.fixture(scope="module")
def digest() -> dict:
    return build_digest(frames(), MAPPING, "STORY", "2026-W47")


def test_the_capture_summary_and_the_digest_count_the_same_baseline(digest):
    items = [
        {"issue_id": i, "issue_type": ty, "parent_id": parent, "original_estimate_seconds": est,
         "story_points": sp}
        for i, ty, parent, est, sp in CAPTURED
    ]  # fmt: skip
    # 8 + 12 + 10 + 4: the epic is carried by its stories, the Bug is excluded
    assert float(baseline_hours(items, PROJECT, MAPPING).sum()) == 34.0
    assert digest["scope"]["baseline_hours"] == 34.0


def test_current_scope_is_baseline_plus_changes_plus_raises_less_removed(digest):
    scope = digest["scope"]
    assert scope["raised_hours"] == 10.0  # T1: 10 h -> 20 h
    assert scope["removed_hours"] == 4.0  # T2 was deleted
    # pending: C1 12 + E2 0 (carried by C4) + C4 8; the cost stays as priced
    assert scope["pending"] == {"count": 3, "hours": 20.0, "cost": 6_000.0}
    assert scope["approved"] == {"count": 1, "hours": 6.0, "cost": 600.0}
    assert scope["rejected"] == {"count": 1, "hours": 5.0, "cost": 500.0}
    assert scope["current_hours"] == 34.0 + 6.0 + 20.0 + 10.0 - 4.0 == 66.0
    assert digest["series"]["current_hours"][-1] == scope["current_hours"]


def test_the_headline_repeats_the_sections(digest):
    head = digest["headline"]
    assert head["decisions_waiting"] == digest["scope"]["pending"]["count"] == 3
    assert head["decisions_cost"] == digest["scope"]["pending"]["cost"]
    assert head["budget"] == digest["budget"]["total"] == 10_600.0  # + the approved C2
    assert head["spent"] == digest["budget"]["spent"] == 3_000.0
    assert head["forecast_cost"] == digest["budget"]["evm"]["eac"]
    assert head["forecast_finish"] == digest["timeline"]["forecast"]["p85"]
    assert head["blockers_on_client"] == 1  # S2
    assert head["status"] in {"at risk", "off track"}  # E2 has waited 12 days for a decision
    assert "client_waiting" in head["status_reasons"]


def test_a_mid_week_preview_measures_ages_to_its_own_moment(digest):
    preview = build_digest(frames(), MAPPING, "STORY", "2026-W47", as_of=t(20, 12))
    assert preview["period"]["as_of"] == "2026-11-20T12:00:00+00:00"
    # S2 has waited on the client since Nov 16 09:00: 4 days on Friday noon, 6 at the week's end
    assert [b["age_days"] for b in preview["blockers"]] == [4]
    assert [b["age_days"] for b in digest["blockers"]] == [6]
    overdue = [r["why"] for r in preview["risks"] if r["title"] == "A decision on S-E2 is overdue"]
    assert overdue == ['The scope change "change E2" has waited 10 days for approval or rejection.']
    # A moment after the period's end changes nothing: the week is over.
    assert build_digest(frames(), MAPPING, "STORY", "2026-W47", as_of=t(30)) == digest


def test_the_digest_says_why_the_last_milestone_finishes_before_the_project():
    versions = [{"id": "v1", "name": "v1.0", "release_date": date(2026, 12, 20), "released": False}]
    in_v1 = [{**i, "fix_version_ids": ("v1",)} if i["id"] in {"T1", "C1"} else i for i in ISSUES]
    base = frames()
    with_versions = frames_from_records(
        issues=in_v1, versions=versions, scope_changes=CHANGES,
        baseline_items=base.baseline_items.to_dict("records"),
        scope_growth=base.scope_growth.to_dict("records"),
        worklogs=base.worklogs.to_dict("records"),
    )  # fmt: skip
    d = build_digest(with_versions, MAPPING, "STORY", "2026-W47")
    forecast, (v1,) = d["timeline"]["forecast"], d["timeline"]["milestones"]
    # Open: S2 12 + T1 20 + C1 12 + C2 6 + C4 8 = 58 h; v1.0 holds T1 and C1 (32 h).
    assert forecast["unscheduled_hours"] == 26.0
    assert v1["forecast_p85"] < forecast["p85"]
    v1_finish = formats.date(date.fromisoformat(v1["forecast_p85"]))
    note = (
        f"The last milestone, v1.0, is forecast for {v1_finish}; "
        "the project finishes later because 26 h of open work belongs to no milestone."
    )
    assert note in render_text(d)


def test_the_text_shows_current_scope_as_its_sum(digest):
    assert (
        "Agreed scope 34 h + approved changes 6 h + pending changes 20 h + raised estimates 10 h"
        " − removed from scope 4 h = current scope 66 h."
    ) in render_text(digest)


def test_waiting_on_you_lists_the_decisions_and_the_blockers(digest):
    assert [(c["key"], c["age_days"]) for c in digest["scope"]["awaiting_decision"]] == [
        ("S-E2", 12), ("S-C4", 11), ("S-C1", 5),  # oldest first, whole days to Nov 23 00:00
    ]  # fmt: skip
    text = render_text(digest)
    waiting = text[text.index("WAITING ON YOU") : text.index("BUDGET")]
    for key in ("S-E2", "S-C4", "S-C1", "S-S2"):
        assert key in waiting
    assert re.search(r"^S-C1 +change C1 +12 h +€1,200 +5 days$", waiting, re.M)
