"""The scope engine on a real SQLite file: mirror rows in, scope changes and outbox jobs out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update

from service.scope.changes import approved_budget_extension, list_changes
from service.scope.decisions import decide
from service.scope.engine import evaluate_issue
from service.scope.model import NotFound
from service.scope.writeback import WritebackPayload
from service.store import schema
from tests.scope.scope_support import (
    AFTER,
    BEFORE,
    MAPPING,
    NOW,
    issue_row,
    put_issue,
    rows,
)

LATER = NOW + timedelta(hours=2)
API: dict[str, Any] = {"channel": "api", "by": "admin API"}


def evaluate(db, issue_id: str = "10031", previous=None, now=NOW) -> None:
    with db.begin() as conn:
        evaluate_issue(conn, MAPPING, issue_id, now, previous=previous)


def change_and_edit(db, now=NOW, **fields: Any) -> None:
    """What the worker does for one event: update the mirror, then evaluate, in one transaction."""
    with db.begin() as conn:
        previous = put_issue(conn, "10031", **fields)
        evaluate_issue(conn, MAPPING, "10031", now, previous=previous)


def state(db) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with db.begin() as conn:
        return rows(conn, schema.scope_changes), rows(conn, schema.outbox)


def new_change(db, **fields: Any) -> None:
    change_and_edit(db, **fields)


# --- flagging ----------------------------------------------------------------------------------


def test_a_new_issue_after_the_baseline_becomes_one_priced_change_and_one_job(db):
    new_change(db)
    changes, jobs = state(db)
    assert len(changes) == 1 and len(jobs) == 1
    change, job = changes[0], jobs[0]
    assert {k: change[k] for k in ("key", "hours", "hours_source", "cost", "schedule_days")} == {
        "key": "ACME-31", "hours": 10.0, "hours_source": "estimate", "cost": 800.0,
        "schedule_days": 0.4,
    }  # fmt: skip
    assert (change["decision"], change["impact_version"], change["written_version"]) == (
        "pending", 1, 0,
    )  # fmt: skip
    assert change["detected_at"] == NOW and change["created"] == AFTER
    assert (job["kind"], job["dedupe_key"], job["status"]) == (
        "writeback", f"writeback:{change['id']}:1", "pending",
    )  # fmt: skip
    assert job["project_key"] == "ACME" and job["issue_id"] == "10031"
    marker = f"[scopewatch change {change['id']}]"
    assert job["payload"] == {
        "issue_key": "ACME-31",
        "labels_add": ["scope-change"],
        "labels_remove": [],
        "fields": {"customfield_10150": 10.0, "customfield_10151": 800.0},
        "comment": {
            "marker": marker,
            "text": "Outside the baseline of 1 Sept 2026: +10 h, €800, +0.4 working days to "
            f"delivery. Pending your approval.\n\n{marker}",
        },
        "property": {
            "key": "scopewatch.impact",
            "value": {
                "change_id": change["id"], "version": 1, "hours": 10.0,
                "hours_source": "estimate", "cost": 800.0, "currency": "EUR",
                "schedule_days": 0.4, "decision": "pending",
                "baseline": {"at": "2026-09-01T09:00:00+00:00", "version": None, "name": None},
            },
        },
    }  # fmt: skip


def test_evaluating_the_same_state_again_enqueues_nothing(db):
    new_change(db)
    before = state(db)
    with db.begin() as conn:  # a replayed event: the mirror did not move
        previous = put_issue(conn, "10031")
        evaluate_issue(conn, MAPPING, "10031", LATER, previous=previous)
    evaluate(db, now=LATER)  # and once more without the row before
    assert state(db) == before


def test_a_changed_estimate_reprices_the_change_with_one_more_job(db):
    new_change(db)
    change_and_edit(db, now=LATER, original_estimate_seconds=16 * 3600)
    changes, jobs = state(db)
    assert (changes[0]["hours"], changes[0]["cost"], changes[0]["impact_version"]) == (
        16.0, 1280.0, 2,
    )  # fmt: skip
    assert [j["dedupe_key"] for j in jobs] == [
        f"writeback:{changes[0]['id']}:1",
        f"writeback:{changes[0]['id']}:2",
    ]
    # The same comment, edited: one marker for the change, whatever its version.
    assert jobs[0]["payload"]["comment"]["marker"] == jobs[1]["payload"]["comment"]["marker"]
    assert "+16 h, €1,280" in jobs[1]["payload"]["comment"]["text"]
    # Version 1 never started: it is superseded rather than written and then overwritten.
    assert jobs[0]["status"] == "done" and "superseded" in jobs[0]["last_error"]
    assert jobs[1]["status"] == "pending"


def test_a_job_already_running_is_not_superseded(db):
    new_change(db)
    with db.begin() as conn:
        conn.execute(update(schema.outbox).values(lease_until=LATER + timedelta(minutes=5)))
    change_and_edit(db, now=LATER, original_estimate_seconds=16 * 3600)
    _, jobs = state(db)
    assert [j["status"] for j in jobs] == ["pending", "pending"]


def test_an_edit_that_does_not_move_the_price_writes_nothing(db):
    new_change(db)
    change_and_edit(db, now=LATER, summary="Export invoices as PDF/A", status="In Progress")
    changes, jobs = state(db)
    assert changes[0]["summary"] == "Export invoices as PDF/A"  # the listing stays current
    assert changes[0]["impact_version"] == 1 and len(jobs) == 1


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"created": BEFORE}, id="baseline issue"),
        pytest.param({"issue_type": "Bug"}, id="excluded type"),
        pytest.param({"project_key": "ZETA", "key": "ZETA-1"}, id="project not in the mapping"),
        pytest.param({"project_key": "NODATE", "key": "NODATE-1"}, id="project without baseline"),
    ],
)
def test_issues_that_are_not_new_scope_leave_no_trace(db, fields):
    new_change(db, **fields)
    assert state(db) == ([], [])


def test_sub_tasks_are_never_flagged_on_their_own_only_their_new_parent_is(db):
    with db.begin() as conn:
        conn.execute(insert(schema.issues).values(issue_row("10001", created=BEFORE)))
        conn.execute(insert(schema.issues).values(issue_row("10002", created=AFTER)))
        sub = {"is_subtask": True, "issue_type": "Sub-task", "original_estimate_seconds": 3600}
        conn.execute(insert(schema.issues).values(issue_row("10041", parent_id="10001", **sub)))
        conn.execute(insert(schema.issues).values(issue_row("10042", parent_id="10002", **sub)))
        for issue_id in ("10001", "10002", "10041", "10042"):
            evaluate_issue(conn, MAPPING, issue_id, NOW)
    changes, _ = state(db)
    assert [c["issue_id"] for c in changes] == ["10002"]


def test_the_newest_captured_snapshot_takes_precedence_over_the_mapping_date(db):
    with db.begin() as conn:
        for version, captured in ((1, datetime(2026, 8, 1, tzinfo=UTC)), (2, AFTER)):
            baseline_id = conn.execute(
                insert(schema.baselines).values(
                    project_key="ACME", version=version, name=f"v{version}", captured_at=captured
                )
            ).inserted_primary_key[0]
        # The newest snapshot agreed to 10031 (created after the date) and not to 10032.
        conn.execute(
            insert(schema.baseline_items).values(
                baseline_id=baseline_id, issue_id="10031", key="ACME-31", issue_type="Story",
                status="To Do",
            )
        )  # fmt: skip
        conn.execute(insert(schema.issues).values(issue_row("10031", created=AFTER)))
        conn.execute(insert(schema.issues).values(issue_row("10032", created=BEFORE)))
        evaluate_issue(conn, MAPPING, "10031", NOW)
        evaluate_issue(conn, MAPPING, "10032", NOW)
    changes, jobs = state(db)
    assert [c["issue_id"] for c in changes] == ["10032"]
    assert jobs[0]["payload"]["property"]["value"]["baseline"]["version"] == 2
    assert jobs[0]["payload"]["comment"]["text"].startswith("Outside the baseline of 16 Nov 2026:")


def test_an_issue_without_any_estimate_is_listed_as_needing_one(db):
    new_change(db, original_estimate_seconds=None, issue_type="Spike")
    changes, jobs = state(db)
    assert (changes[0]["hours"], changes[0]["cost"], changes[0]["hours_source"]) == (
        None, None, "none",
    )  # fmt: skip
    assert jobs[0]["payload"]["fields"] == {
        "customfield_10150": None,
        "customfield_10151": None,
    }
    assert "needs an estimate before it can be priced" in jobs[0]["payload"]["comment"]["text"]


# --- leaving: deletion and moves ---------------------------------------------------------------


def test_a_deleted_issue_withdraws_its_change_without_writing_to_jira(db):
    new_change(db)
    change_and_edit(db, now=LATER, deleted=True)
    changes, jobs = state(db)
    assert changes[0]["withdrawn"] is True and len(jobs) == 1
    # The marks it never got are dropped: Jira would answer 404 for a deleted issue.
    assert (jobs[0]["status"], jobs[0]["last_error"]) == ("done", "withdrawn: the issue left")
    with db.begin() as conn:
        assert list_changes(conn, "ACME") == []


def test_moving_out_withdraws_and_moving_in_after_the_baseline_flags(db):
    new_change(db)
    moved_at = AFTER + timedelta(days=2)
    change_and_edit(db, now=LATER, project_key="NODATE", key="NODATE-3", moved_in_at=moved_at)
    changes, jobs = state(db)
    assert changes[0]["withdrawn"] is True  # NODATE has no baseline: nothing new there
    assert jobs[0]["status"] == "done"  # not marked as ACME's new scope while in NODATE
    change_and_edit(db, now=LATER, project_key="ACME", key="ACME-77", moved_in_at=moved_at)
    changes, jobs = state(db)
    assert len(changes) == 1 and changes[0]["withdrawn"] is False  # the same change is back
    assert changes[0]["key"] == "ACME-77"
    assert changes[0]["created"] == moved_at  # new scope in the week it arrived
    assert changes[0]["impact_version"] == 2  # and its marks are written again, under the new key
    assert (jobs[-1]["status"], jobs[-1]["payload"]["issue_key"]) == ("pending", "ACME-77")


def test_an_old_issue_moved_in_is_new_scope_from_its_arrival(db):
    new_change(db, created=BEFORE, moved_in_at=AFTER)
    changes, _ = state(db)
    assert len(changes) == 1 and changes[0]["created"] == AFTER


# --- decisions ---------------------------------------------------------------------------------


def test_an_approved_label_approves_and_extends_the_budget(db):
    new_change(db)
    label_time = AFTER + timedelta(days=3)
    change_and_edit(db, now=LATER, labels=["scope-change", "scope-approved"], updated=label_time)
    changes, jobs = state(db)
    change = changes[0]
    assert (change["decision"], change["decided_at"], change["impact_version"]) == (
        "approved", label_time, 2,
    )  # fmt: skip
    assert change["decision_note"] == "label scope-approved in Jira"
    payload = WritebackPayload.from_json(jobs[-1]["payload"])
    assert payload.labels_add == ("scope-change", "scope-approved")
    assert payload.labels_remove == ("scope-rejected",)
    assert payload.comment is not None
    assert "Approved: added to the agreed scope" in payload.comment.text
    assert payload.property is not None and payload.property.decision == "approved"
    with db.begin() as conn:
        assert approved_budget_extension(conn, "ACME") == 800.0


def test_a_rejected_label_rejects_without_extending_the_budget(db):
    new_change(db)
    change_and_edit(db, now=LATER, labels=["scope-rejected"])
    changes, jobs = state(db)
    assert changes[0]["decision"] == "rejected"
    assert jobs[-1]["payload"]["labels_remove"] == ["scope-approved"]
    with db.begin() as conn:
        assert approved_budget_extension(conn, "ACME") == 0.0


def test_an_issue_created_with_a_decision_label_is_decided_from_the_start(db):
    new_change(db, labels=["scope-approved"])
    changes, jobs = state(db)
    assert changes[0]["decision"] == "approved" and len(jobs) == 1


def test_both_labels_at_once_decide_nothing(db):
    new_change(db)
    change_and_edit(db, now=LATER, labels=["scope-approved", "scope-rejected"])
    changes, jobs = state(db)
    assert changes[0]["decision"] == "pending" and len(jobs) == 1


def test_a_stale_label_does_not_undo_a_newer_api_decision(db):
    new_change(db, labels=["scope-rejected"])
    with db.begin() as conn:
        decide(conn, MAPPING, "ACME", "ACME-31", "approved", "signed off by phone", LATER, **API)
    # An unrelated edit arrives before our label job reached Jira: the old label is still there.
    change_and_edit(db, now=LATER, summary="Export invoices as PDF (A4)")
    changes, _ = state(db)
    assert changes[0]["decision"] == "approved"
    assert changes[0]["decision_note"] == "signed off by phone"


def test_an_approved_price_is_frozen_and_a_later_raise_is_growth(db):
    new_change(db, labels=["scope-approved"])
    raised_at = AFTER + timedelta(days=4)
    change_and_edit(db, now=LATER, original_estimate_seconds=14 * 3600, updated=raised_at)
    changes, jobs = state(db)
    assert (changes[0]["hours"], changes[0]["cost"], changes[0]["impact_version"]) == (
        10.0, 800.0, 1,
    )  # fmt: skip
    assert len(jobs) == 1
    with db.begin() as conn:
        growth = rows(conn, schema.scope_growth)
        assert approved_budget_extension(conn, "ACME") == 800.0
    assert [(g["key"], g["from_hours"], g["to_hours"], g["at"]) for g in growth] == [
        ("ACME-31", 10.0, 14.0, raised_at)
    ]


def test_an_approved_change_without_a_price_gets_priced_when_estimated(db):
    new_change(db, labels=["scope-approved"], original_estimate_seconds=None, issue_type="Spike")
    change_and_edit(db, now=LATER, original_estimate_seconds=5 * 3600)
    changes, jobs = state(db)
    assert (changes[0]["hours"], changes[0]["cost"], changes[0]["impact_version"]) == (
        5.0, 400.0, 2,
    )  # fmt: skip
    assert len(jobs) == 2


# --- growth of agreed work ---------------------------------------------------------------------


def test_a_raised_estimate_on_a_baseline_issue_is_recorded_as_growth_not_flagged(db):
    new_change(db, created=BEFORE, original_estimate_seconds=16 * 3600)
    raised_at = AFTER + timedelta(days=1)
    change_and_edit(db, now=LATER, original_estimate_seconds=32 * 3600, updated=raised_at)
    change_and_edit(db, now=LATER)  # replayed: the mirror did not move
    change_and_edit(db, now=LATER, original_estimate_seconds=8 * 3600)  # lowered: not growth
    changes, jobs = state(db)
    assert changes == [] and jobs == []
    with db.begin() as conn:
        growth = rows(conn, schema.scope_growth)
    assert [(g["from_hours"], g["to_hours"], g["at"]) for g in growth] == [(16.0, 32.0, raised_at)]


def test_no_growth_is_recorded_for_excluded_types(db):
    new_change(db, created=BEFORE, issue_type="Bug")
    change_and_edit(db, now=LATER, original_estimate_seconds=40 * 3600)
    with db.begin() as conn:
        assert rows(conn, schema.scope_growth) == []


# --- the API's side: decide, list --------------------------------------------------------------


def test_deciding_sets_the_decision_and_queues_the_marks(db):
    new_change(db)
    with db.begin() as conn:
        result = decide(
            conn, MAPPING, "ACME", "ACME-31", "rejected", "not this quarter", LATER, **API
        )
    assert (result["decision"], result["decision_note"], result["written_back"]) == (
        "rejected", "not this quarter", False,
    )  # fmt: skip
    changes, jobs = state(db)
    assert changes[0]["impact_version"] == 2 and changes[0]["decided_at"] == LATER
    assert jobs[-1]["dedupe_key"].endswith(":2")
    assert jobs[-1]["payload"]["labels_add"] == ["scope-change", "scope-rejected"]
    assert "Rejected" in jobs[-1]["payload"]["comment"]["text"]


def test_deciding_the_same_way_again_only_updates_the_note(db):
    new_change(db)
    with db.begin() as conn:
        decide(conn, MAPPING, "ACME", "ACME-31", "approved", "ok", LATER, **API)
        decide(conn, MAPPING, "ACME", "ACME-31", "approved", "ok, confirmed by mail", LATER, **API)
    changes, jobs = state(db)
    assert changes[0]["decision_note"] == "ok, confirmed by mail"
    assert changes[0]["impact_version"] == 2 and len(jobs) == 2


@pytest.mark.parametrize(
    ("project", "issue"), [("ZETA", "ACME-31"), ("ACME", "ACME-99"), ("NODATE", "ACME-31")]
)
def test_deciding_on_nothing_is_not_found(db, project, issue):
    new_change(db)
    with db.begin() as conn, pytest.raises(NotFound):
        decide(conn, MAPPING, project, issue, "approved", None, LATER, **API)


def test_a_withdrawn_change_cannot_be_decided(db):
    new_change(db)
    change_and_edit(db, now=LATER, deleted=True)
    with db.begin() as conn, pytest.raises(NotFound):
        decide(conn, MAPPING, "ACME", "ACME-31", "approved", None, LATER, **API)


def test_the_listing_has_the_contracts_shape_and_filters(db):
    with db.begin() as conn:
        for n, day in ((1, 2), (2, 10), (3, 17)):
            conn.execute(
                insert(schema.issues).values(
                    issue_row(f"1000{n}", created=datetime(2026, 11, day, 12, tzinfo=UTC))
                )
            )
            evaluate_issue(conn, MAPPING, f"1000{n}", NOW)
        decide(conn, MAPPING, "ACME", "ACME-02", "approved", None, NOW, **API)
        everything = list_changes(conn, "ACME")
        approved = list_changes(conn, "ACME", decision="approved")
        window = list_changes(
            conn,
            "ACME",
            since=datetime(2026, 11, 10, tzinfo=UTC),
            until=datetime(2026, 11, 17, tzinfo=UTC),
        )
        assert list_changes(conn, "NODATE") == []
    assert [c["key"] for c in everything] == ["ACME-01", "ACME-02", "ACME-03"]
    assert [c["key"] for c in approved] == ["ACME-02"]
    assert [c["key"] for c in window] == ["ACME-02"]
    assert everything[0] == {
        "key": "ACME-01", "summary": "Export invoices as PDF", "issue_type": "Story",
        "created": "2026-11-02T12:00:00+00:00", "detected_at": "2026-11-16T10:00:00+00:00",
        "hours": 10.0, "hours_source": "estimate", "cost": 800.0, "currency": "EUR",
        "schedule_days": 0.4, "decision": "pending", "written_back": False,
        "decided_at": None, "decided_by": None, "decision_channel": None, "decision_note": None,
    }  # fmt: skip


def test_written_back_once_jira_has_the_current_version(db):
    new_change(db)
    with db.begin() as conn:
        conn.execute(update(schema.scope_changes).values(written_version=1))
        assert list_changes(conn, "ACME")[0]["written_back"] is True
    change_and_edit(db, now=LATER, original_estimate_seconds=20 * 3600)
    with db.begin() as conn:
        assert list_changes(conn, "ACME")[0]["written_back"] is False


def test_an_empty_project_has_no_changes_and_no_extension(db):
    with db.begin() as conn:
        assert list_changes(conn, "ACME") == []
        assert approved_budget_extension(conn, "ACME") == 0.0
    evaluate(db, "nope")  # an id the mirror does not hold
    assert state(db) == ([], [])
