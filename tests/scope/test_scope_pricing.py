from __future__ import annotations

import pytest

from service.scope.pricing import (
    Hours,
    Impact,
    IssueFacts,
    hours_for,
    impact_comment,
    price,
    round_half_up,
)
from tests.scope.scope_support import ACME, AFTER, DESIGNER, DEV, MAPPING, STRANGER, issue_row


def facts(**fields: object) -> IssueFacts:
    return IssueFacts.from_row(issue_row(**fields))


# --- hours -------------------------------------------------------------------------------------


def test_original_estimate_wins_over_points_and_type_default():
    issue = facts(original_estimate_seconds=5400, story_points=3)
    assert hours_for(issue, ACME, MAPPING) == Hours(1.5, "estimate")


def test_story_points_times_hours_per_point_when_no_estimate():
    issue = facts(original_estimate_seconds=None, story_points=2.5)
    assert hours_for(issue, ACME, MAPPING) == Hours(15.0, "story_points")


def test_type_default_when_neither_estimate_nor_points():
    issue = facts(original_estimate_seconds=None, issue_type="Task")
    assert hours_for(issue, ACME, MAPPING) == Hours(4.0, "default")


def test_nothing_known_is_unpriced_not_zero():
    issue = facts(original_estimate_seconds=None, issue_type="Spike")
    assert hours_for(issue, ACME, MAPPING) == Hours(None, "none")


def test_an_estimate_of_zero_is_a_real_zero_not_unknown():
    # Jira sends null for "no estimate"; 0 is what somebody typed, and outranks the points.
    issue = facts(original_estimate_seconds=0, story_points=5)
    assert hours_for(issue, ACME, MAPPING) == Hours(0.0, "estimate")
    assert hours_for(facts(original_estimate_seconds=None, story_points=0), ACME, MAPPING) == Hours(
        0.0, "story_points"
    )


def test_issue_facts_from_a_sparse_row():
    issue = IssueFacts.from_row(
        {"id": 7, "key": "ACME-7", "project_key": "ACME", "labels": None, "parent_id": ""}
    )
    assert issue.labels == ()
    assert issue.parent_id is None
    assert issue.summary == "" and issue.issue_type == "" and not issue.deleted
    assert hours_for(issue, ACME, MAPPING) == Hours(None, "none")


# --- price -------------------------------------------------------------------------------------


def test_price_at_the_assignees_role_rate():
    impact = price(Hours(10.0, "estimate"), DEV, ACME, MAPPING)
    assert impact == Impact(
        hours=10.0, hours_source="estimate", rate=80.0, cost=800.0, schedule_days=0.4,
        currency="EUR",
    )  # fmt: skip


@pytest.mark.parametrize("assignee", [None, STRANGER])
def test_price_at_the_default_rate_for_nobody_or_someone_without_a_role(assignee):
    impact = price(Hours(2.0, "default"), assignee, ACME, MAPPING)
    assert (impact.rate, impact.cost) == (85.0, 170.0)


def test_every_figure_follows_the_hours_as_shown():
    # 10 h 20 min: shown as 10.3 h, so the cost is 10.3 x 70 (not 10.333 x 70 = 723.33).
    impact = price(Hours(10 + 20 / 60, "estimate"), DESIGNER, ACME, MAPPING)
    assert (impact.hours, impact.cost, impact.schedule_days) == (10.3, 721.0, 0.4)


def test_rounding_is_half_up_as_on_paper():
    assert round_half_up(2.675, 2) == 2.68  # round() gives 2.67
    assert round_half_up(0.25, 1) == 0.3  # round() gives 0.2
    assert round_half_up(12.0, 1) == 12.0
    # 1.25 h x 24 h/day: 1.25 / 24 = 0.052 days -> 0.1, and 1.25 h shown as 1.3 h
    impact = price(Hours(1.25, "estimate"), DEV, ACME, MAPPING)
    assert (impact.hours, impact.cost, impact.schedule_days) == (1.3, 104.0, 0.1)


def test_unpriced_hours_give_no_cost_and_no_days():
    impact = price(Hours(None, "none"), DEV, ACME, MAPPING)
    assert (impact.hours, impact.cost, impact.schedule_days) == (None, None, None)
    assert impact.hours_source == "none" and not impact.priced


# --- the comment -------------------------------------------------------------------------------


def test_the_comment_reads_exactly_as_in_the_product_contract():
    impact = price(Hours(10.0, "estimate"), DEV, ACME, MAPPING)
    assert impact_comment(impact, "1 Sep 2026", "pending") == (
        "Outside the baseline of 1 Sep 2026: +10 h, €800, +0.4 working days to delivery. "
        "Pending your approval."
    )


def test_the_comment_is_written_in_the_locale_asked_for():
    impact = price(Hours(10.5, "story_points"), DESIGNER, ACME, MAPPING)  # 10.5 h x 70 = 735
    assert impact_comment(impact, "1. Sept. 2026", "pending", "de_DE").startswith(
        "Outside the baseline of 1. Sept. 2026: +10,5 h, 735\xa0€, +0,4 working days"
    )


def test_the_comment_states_the_decision():
    impact = price(Hours(10.0, "estimate"), DEV, ACME, MAPPING)
    approved = impact_comment(impact, "1 Sep 2026", "approved")
    rejected = impact_comment(impact, "1 Sep 2026", "rejected")
    assert approved.endswith("to delivery. Approved: added to the agreed scope and the budget.")
    assert rejected.endswith("to delivery. Rejected: not part of the agreed scope.")


def test_an_unpriced_change_asks_for_an_estimate():
    impact = price(Hours(None, "none"), DEV, ACME, MAPPING)
    assert impact_comment(impact, "1 Sep 2026", "pending") == (
        "Outside the baseline of 1 Sep 2026: needs an estimate before it can be priced."
    )
    assert impact_comment(impact, "1 Sep 2026", "approved").endswith(
        "needs an estimate before it can be priced. Approved: added to the agreed scope and the "
        "budget."
    )


def test_the_comment_shows_cents_separators_and_a_single_day():
    impact = price(Hours(24.0, "estimate"), STRANGER, ACME, MAPPING)  # 24 h x 85, one day
    assert "+24 h, €2,040, +1 working day to delivery." in impact_comment(
        impact, "1 Sep 2026", "pending"
    )
    odd = price(Hours(10.5, "story_points"), DESIGNER, ACME, MAPPING)
    assert "+10.5 h, €735, +0.4 working days" in impact_comment(odd, "1 Sep 2026", "pending")
    # 10 h 20 min is shown as 10.3 h and priced 10.3 x 85 = 875.50: an amount with cents shows them
    cents = price(Hours(10 + 1 / 3, "estimate"), STRANGER, ACME, MAPPING)
    assert "+10.3 h, €875.50, +0.4 working days" in impact_comment(cents, "1 Sep 2026", "pending")


def test_a_change_created_now_reads_from_the_mirror_row():
    issue = facts(assignee=DESIGNER, created=AFTER, labels=["x"])
    assert issue.labels == ("x",) and issue.created == AFTER
    impact = price(hours_for(issue, ACME, MAPPING), issue.assignee, ACME, MAPPING)
    assert (impact.hours, impact.cost) == (10.0, 700.0)
