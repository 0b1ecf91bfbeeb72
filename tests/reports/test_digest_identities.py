"""Property: whatever the project's history, the digest tells one story.

Hypothesis generates small project histories (a captured baseline or the mapping's date; epics,
stories, sub-tasks, excluded Bugs; estimates raised; issues deleted; changes decided at random
times; worklogs; blockers; milestones) and checks the identities a reader relies on:
- spent by category sums to spent; the series ends where the sections stand;
- baseline + approved + pending + raised - removed = current scope;
- the headline's numbers are the sections' numbers;
- no sentence contradicts another ("Nothing is waiting on you" never beside a decision awaited).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.model import DigestSchedule, JiraFields, Mapping, Project, Rate, Statuses
from reports.digest import build_digest
from reports.frames import frames_from_records
from reports.render import render_text

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
BASELINE = START + timedelta(days=1)
WEEK = "2026-W47"  # Nov 16 to Nov 23
END_OF_WEEK = datetime(2026, 11, 23, tzinfo=UTC)
TYPES = ["Story", "Task", "Epic", "Bug", "Sub-task"]
MAPPING_KW: dict[str, Any] = {
    "jira": JiraFields(),
    "rates": (("developer", Rate(100.0)),),
    "people": (("dev", "developer"),),
    "estimates": (("Story", 8.0), ("Task", 4.0), ("Epic", 40.0)),
    "statuses": Statuses(),
}


def project(budget: float, captured: bool) -> Project:
    return Project(
        key="P", client="C", currency="EUR", budget=budget, start=START.date(),
        end=date(2026, 12, 27), baseline=None if captured else BASELINE, hours_per_point=6,
        weekly_capacity_hours=40, default_rate=50, exclude_types=("Bug",),
        digest=DigestSchedule(to=("x@example.com",)),
        categories=(("Backend", budget / 2),),
    )  # fmt: skip


def moment(days: float) -> datetime:
    return START + timedelta(hours=round(days * 24))


times = st.floats(0, 27).map(moment)  # Nov 2 to Nov 29: some after the week's end


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 12))
    issues, baseline_items, changes, growth = [], [], [], []
    captured = draw(st.booleans())
    for i in range(n):
        id_ = str(i + 1)
        type_ = draw(st.sampled_from(TYPES))
        parent = draw(st.none() | st.integers(1, i).map(str)) if i else None
        in_baseline = draw(st.booleans())
        created = BASELINE - timedelta(days=1) if in_baseline else draw(times)
        estimate = draw(st.none() | st.integers(0, 40).map(lambda h: h * 3600))
        points = draw(st.none() | st.sampled_from([1.0, 2.0, 3.0]))
        done_at = draw(st.none() | times)
        waiting = draw(st.booleans())
        status, category, since = "To Do", "new", created
        if done_at is not None and done_at >= created:
            status, category, since = "Done", "done", done_at
        elif waiting:
            status, category = "Waiting for client", "indeterminate"
        row = {
            "id": id_, "key": f"P-{id_}", "summary": f"issue {id_}", "issue_type": type_,
            "is_subtask": type_ == "Sub-task", "parent_id": parent, "status": status,
            "status_category": category, "created": created, "status_since": since,
            "original_estimate_seconds": estimate, "story_points": points,
            "components": draw(st.sampled_from([(), ("Backend",), ("Other",)])),
            "fix_version_ids": draw(st.sampled_from([(), ("v1",), ("v2",), ("v1", "v2")])),
        }  # fmt: skip
        deleted = draw(st.integers(0, 9)) == 0
        if not deleted:
            issues.append(row)
        if in_baseline and captured:
            baseline_items.append({
                "issue_id": id_, "key": row["key"], "issue_type": type_,
                "original_estimate_seconds": estimate, "story_points": points,
            })  # fmt: skip
        if in_baseline and draw(st.booleans()):
            old = draw(st.integers(0, 20))
            growth.append(
                {
                    "issue_id": id_,
                    "key": row["key"],
                    "from_hours": float(old),
                    "to_hours": float(old + draw(st.integers(1, 20))),
                    "at": draw(times),
                }
            )
        if not in_baseline and type_ != "Bug" and type_ != "Sub-task":
            hours = draw(st.none() | st.integers(0, 30).map(float))
            decision = draw(st.sampled_from(["pending", "approved", "rejected"]))
            changes.append({
                "issue_id": id_, "key": row["key"], "summary": row["summary"],
                "issue_type": type_, "created": created, "detected_at": created,
                "hours": hours, "hours_source": "estimate" if hours is not None else "none",
                "cost": None if hours is None else hours * 100, "currency": "EUR",
                "schedule_days": None if hours is None else hours / 8, "decision": decision,
                "decided_at": None if decision == "pending" else created + timedelta(days=1),
                "withdrawn": deleted, "written_back": True,
            })  # fmt: skip
    worklogs = [
        {"started": draw(times), "author": draw(st.sampled_from(["dev", "ext"])),
         "components": draw(st.sampled_from([(), ("Backend",), ("Other",)])),
         "seconds": draw(st.integers(1, 20)) * 3600}
        for _ in range(draw(st.integers(0, 10)))
    ]  # fmt: skip
    versions = [
        {"id": "v1", "name": "v1", "release_date": date(2026, 12, 1), "released": False},
        {"id": "v2", "name": "v2", "release_date": date(2026, 12, 20),
         "released": draw(st.booleans())},
    ]  # fmt: skip
    return {
        "captured": captured,
        "budget": float(draw(st.integers(1, 20)) * 1000),
        "as_of": draw(st.none() | st.floats(14, 21).map(moment)),  # a preview inside the week
        "frames": frames_from_records(
            issues=issues,
            baseline_items=baseline_items,
            scope_changes=changes,
            scope_growth=growth,
            worklogs=worklogs,
            versions=versions,
        ),  # fmt: skip
    }


def close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, abs_tol=tolerance)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_every_section_tells_the_same_story(history: dict[str, Any]) -> None:
    p = project(history["budget"], history["captured"])
    mapping = Mapping(projects=(p,), **MAPPING_KW)
    d = build_digest(history["frames"], mapping, "P", WEEK, as_of=history["as_of"])
    budget, scope, head = d["budget"], d["scope"], d["headline"]

    # Money: every worklog is in exactly one category; the series ends at the sections.
    assert close(sum(c["spent"] for c in budget["by_category"]), budget["spent"], 0.05)
    assert close(d["series"]["spent_cum"][-1], budget["spent"], 0.01)
    assert close(d["series"]["budget_total"][-1], budget["total"], 0.01)

    # Scope: baseline + changes + raises - removed = current, in the section and the series.
    terms = (
        scope["baseline_hours"] + scope["approved"]["hours"] + scope["pending"]["hours"]
        + scope["raised_hours"] - scope["removed_hours"]
    )  # fmt: skip
    assert close(terms, scope["current_hours"], 0.3)  # five figures, each rounded to 0.1
    assert close(d["series"]["current_hours"][-1], scope["current_hours"], 0.1)

    # The headline's numbers are the sections' numbers.
    assert head["budget"] == budget["total"] and head["spent"] == budget["spent"]
    assert head["forecast_cost"] == budget["evm"]["eac"]
    assert head["forecast_finish"] == d["timeline"]["forecast"]["p85"]
    assert head["decisions_waiting"] == scope["pending"]["count"]
    assert head["decisions_cost"] == scope["pending"]["cost"]
    on_client = [b for b in d["blockers"] if b["waiting_on"] == "client"]
    assert head["blockers_on_client"] == len(on_client)
    assert head["changes_count"] == len(scope["changes_this_week"])
    if head["status"] == "on track":
        assert head["status_reasons"] == []
        assert head["forecast_cost"] is None or head["forecast_cost"] <= head["budget"]
    else:
        assert head["status_reasons"]

    # One finish: when every open hour is in a milestone, the last one finishes with the project.
    forecast = d["timeline"]["forecast"]
    open_milestones = [m for m in d["timeline"]["milestones"] if m["status"] != "released"]
    if open_milestones and forecast["unscheduled_hours"] == 0.0:
        assert open_milestones[-1]["forecast_p85"] == forecast["p85"]

    # No sentence contradicts another.
    text = render_text(d)
    nothing = "Nothing is waiting on you." in text
    assert nothing == (scope["pending"]["count"] == 0 and not on_client)
    assert ("WAITING ON YOU" in text) == (not nothing)
    assert len(scope["awaiting_decision"]) == scope["pending"]["count"]
    if nothing:
        assert "Awaiting your decision        0" in text
    # Ages are measured to the as-of moment, never beyond it.
    as_of = datetime.fromisoformat(d["period"]["as_of"])
    assert as_of <= END_OF_WEEK
    assert history["as_of"] is None or as_of == min(history["as_of"], END_OF_WEEK)
    for b in d["blockers"]:
        waited = as_of - datetime.fromisoformat(b["since"])
        assert b["age_days"] == max(math.floor(waited.total_seconds() / 86400), 0)
