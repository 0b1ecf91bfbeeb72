from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from service.scope.baseline import (
    NO_BASELINE,
    Baseline,
    baseline_members,
    current_baseline,
    growth,
    is_growth_candidate,
    is_scope_change,
)
from service.scope.pricing import IssueFacts
from service.store import schema
from tests.scope.scope_support import ACME, AFTER, BASELINE_AT, BEFORE, UNDATED, issue_row

DATED = Baseline(at=BASELINE_AT)
CAPTURED = Baseline(at=datetime(2026, 10, 1, tzinfo=UTC), captured_id=1, version=2, name="v2")


def facts(issue_id: str = "10031", **fields: object) -> IssueFacts:
    return IssueFacts.from_row(issue_row(issue_id, **fields))


def flagged(issue: IssueFacts, baseline: Baseline = DATED, ids: frozenset[str] = frozenset()):
    return is_scope_change(issue, ACME, baseline, ids).flag


# --- the rule, with the mapping's date ---------------------------------------------------------


def test_created_after_the_baseline_is_new_scope():
    verdict = is_scope_change(facts(created=AFTER), ACME, DATED, frozenset())
    assert verdict.flag and verdict.reason == "created after the baseline"


def test_created_before_or_exactly_at_the_baseline_is_agreed_scope():
    assert not flagged(facts(created=BEFORE))
    assert not flagged(facts(created=BASELINE_AT))
    assert flagged(facts(created=BASELINE_AT + timedelta(seconds=1)))


def test_moved_into_the_project_after_the_baseline_is_new_scope_however_old():
    verdict = is_scope_change(facts(created=BEFORE, moved_in_at=AFTER), ACME, DATED, frozenset())
    assert verdict.flag and "moved into the project" in verdict.reason
    assert not flagged(facts(created=BEFORE, moved_in_at=BEFORE + timedelta(days=1)))


def test_excluded_types_are_never_scope():
    verdict = is_scope_change(facts(issue_type="Bug"), ACME, DATED, frozenset())
    assert not verdict.flag and "excluded" in verdict.reason


def test_a_sub_task_of_a_baseline_issue_is_not_new_scope():
    sub = facts("10040", is_subtask=True, parent_id="10001", issue_type="Sub-task")
    assert not flagged(sub, ids=frozenset({"10001"}))
    # Nor is one of new work: its parent is the change, priced once for the client.
    assert not flagged(sub, ids=frozenset())


def test_no_baseline_flags_nothing():
    verdict = is_scope_change(facts(created=AFTER), UNDATED, NO_BASELINE, frozenset())
    assert not verdict.flag and verdict.reason == "the project has no baseline"


def test_without_a_creation_time_nothing_is_claimed():
    assert not flagged(facts(created=None))


# --- the rule, with a captured snapshot --------------------------------------------------------


def test_a_captured_snapshot_decides_by_membership_not_by_dates():
    # Created after the mapping's date, but agreed in the snapshot: not new.
    assert not flagged(facts("10031", created=AFTER), CAPTURED, frozenset({"10031"}))
    # Created long before, but absent from the snapshot: new.
    verdict = is_scope_change(facts("10032", created=BEFORE), ACME, CAPTURED, frozenset())
    assert verdict.flag and "absent from the baseline" in verdict.reason


def test_growth_candidates_are_baseline_issues_of_counted_types():
    assert is_growth_candidate(facts(created=BEFORE), ACME, DATED, frozenset())
    assert not is_growth_candidate(facts(created=AFTER), ACME, DATED, frozenset())
    assert not is_growth_candidate(facts(created=BEFORE, issue_type="Bug"), ACME, DATED, set())
    assert is_growth_candidate(facts("1", created=AFTER), ACME, CAPTURED, frozenset({"1"}))
    assert not is_growth_candidate(facts(created=BEFORE), UNDATED, NO_BASELINE, frozenset())


# --- growth ------------------------------------------------------------------------------------


def test_growth_is_the_rise_only():
    assert growth(16.0, 32.0) == 16.0
    assert growth(16.0, 16.0) is None
    assert growth(16.0, 8.0) is None
    assert growth(16.0, None) is None


def test_a_first_estimate_on_unpriced_agreed_work_is_growth_from_nothing():
    assert growth(None, 4.0) == 4.0
    assert growth(None, None) is None
    assert growth(None, 0.0) is None


# --- the database edge -------------------------------------------------------------------------


def _capture(conn, version: int, at: datetime, issue_ids: list[str]) -> int:
    baseline_id = conn.execute(
        insert(schema.baselines).values(
            project_key="ACME", version=version, name=f"v{version}", captured_at=at
        )
    ).inserted_primary_key[0]
    for issue_id in issue_ids:
        conn.execute(
            insert(schema.baseline_items).values(
                baseline_id=baseline_id, issue_id=issue_id, key=f"ACME-{issue_id}",
                issue_type="Story", status="To Do",
            )
        )  # fmt: skip
    return int(baseline_id)


def test_the_mapping_date_is_the_baseline_until_one_is_captured(db):
    with db.begin() as conn:
        assert current_baseline(conn, ACME) == Baseline(at=BASELINE_AT)
        assert current_baseline(conn, UNDATED) == NO_BASELINE


def test_the_newest_captured_baseline_takes_precedence(db):
    with db.begin() as conn:
        _capture(conn, 1, datetime(2026, 9, 2, tzinfo=UTC), ["1"])
        newest = _capture(conn, 2, datetime(2026, 10, 1, tzinfo=UTC), ["1", "2"])
        baseline = current_baseline(conn, ACME)
        assert (baseline.captured_id, baseline.version, baseline.name) == (newest, 2, "v2")
        assert baseline.at == datetime(2026, 10, 1, tzinfo=UTC)
        assert baseline_members(conn, baseline, ACME, ["2", "3", None]) == {"2"}


def test_members_under_the_mapping_date_come_from_the_mirror(db):
    with db.begin() as conn:
        conn.execute(insert(schema.issues).values(issue_row("1", created=BEFORE)))
        conn.execute(insert(schema.issues).values(issue_row("2", created=AFTER)))
        conn.execute(
            insert(schema.issues).values(issue_row("3", created=BEFORE, moved_in_at=AFTER))
        )
        conn.execute(insert(schema.issues).values(issue_row("4", created=BEFORE, project_key="X")))
        found = baseline_members(conn, Baseline(at=BASELINE_AT), ACME, ["1", "2", "3", "4"])
        assert found == {"1"}
        assert baseline_members(conn, NO_BASELINE, ACME, ["1"]) == frozenset()
        assert baseline_members(conn, Baseline(at=BASELINE_AT), ACME, []) == frozenset()


def test_the_baseline_label_is_the_date_in_the_projects_zone():
    late_evening = Baseline(at=datetime(2026, 8, 31, 23, 30, tzinfo=UTC))
    assert late_evening.label("UTC") == "31 Aug 2026"
    # CLDR's British abbreviation for September is "Sept"
    assert late_evening.label("Europe/Berlin") == "1 Sept 2026"
    assert late_evening.label("Europe/Berlin", "de_DE") == "1. Sept. 2026"
    assert NO_BASELINE.label() == "no baseline"
