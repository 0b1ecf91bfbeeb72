"""A project's money across a rate change, a person's own rate and non-billable work, priced to
the cent from a real mirror on SQLite and on PostgreSQL, with the clock frozen.

The amounts are chosen so that rounding each worklog (or using binary floats) gives a different
cent than exact arithmetic rounded once: the digest must show the second.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from reports.budget import non_billable_summary
from reports.period import period_for
from reports.rates import rate_on
from service.digest.load import digest_for, load_frames
from service.mirror import rollup
from service.scope.engine import evaluate_issue
from service.scope.prices import price_history
from service.store import schema
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.scope.scope_support import issue_row

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


# (worklog id, issue, author, started in Berlin, seconds): what each is worth, by hand.
WORKLOGS = [
    ("w1", "1", "zed", at(2026, 12, 21, 10), 900),  # W52, unknown person: 0.25 h x 85.25 default
    ("w2", "1", "cid", at(2026, 12, 30, 9), 4800),  # 1 h 20 x 70 ([rates] designer) = 93.333…
    ("w3", "1", "bob", at(2026, 12, 31, 23, 30), 5400),  # 1.5 h x 90.5 (card) = 135.75
    ("w4", "1", "bob", at(2027, 1, 1, 0, 30), 7200),  # 2 h x 99.99 (changed on the 1st) = 199.98
    ("w5", "1", "ann", at(2027, 1, 1, 10), 10800),  # 3 h x 120 (her own rate, unchanged) = 360
    ("w6", "2", "bob", at(2027, 1, 2, 9), 14400),  # 4 h on Warranty: not billed (99.99 / cost 60)
]
SPENT = "810.38"  # 21.3125 + 93.3333… + 135.75 + 199.98 + 360 = 810.3758…; per-row cents: 810.37
THIS_WEEK = "789.06"  # all but w1 and w6
NOW = datetime(2027, 1, 5, 9, tzinfo=UTC)  # the Tuesday after week 2027-W53 … W01 ended


def seed(engine) -> None:
    with engine.begin() as conn:
        for issue_id, components in (("1", ["Backend"]), ("2", ["Warranty"])):
            row = issue_row(issue_id, project_key="MONEY", key=f"MONEY-{issue_id}")
            row.update(components=components, created=at(2026, 11, 20), updated=at(2026, 11, 20))
            conn.execute(insert(schema.issues).values(row))
        for id_, issue, author, started, seconds in WORKLOGS:
            conn.execute(
                insert(schema.worklogs).values(
                    id=id_, issue_id=issue, author=author, started=started, seconds=seconds,
                    updated=started, deleted=False,
                )
            )  # fmt: skip


@pytest.mark.parametrize("rolled_up", [False, True], ids=["from-worklogs", "from-roll-up"])
def test_spent_prices_each_day_at_its_rate_and_leaves_non_billable_work_out(
    engine, tmp_path, rolled_up
):
    mapping = money_mapping(tmp_path)
    seed(engine)
    if rolled_up:
        rollup.rebuild(engine, "MONEY", "Europe/Berlin")
    with engine.connect() as conn:
        digest = digest_for(conn, mapping, "MONEY", "2026-W53")
    budget = digest["budget"]
    assert f"{budget['spent']:.2f}" == SPENT
    assert f"{budget['spent_this_week']:.2f}" == THIS_WEEK
    assert f"{budget['remaining']:.2f}" == "189.62"
    assert budget["burn_pct"] == 81.0  # 810.3758 / 1000, to 0.1
    assert sum(c["spent"] for c in budget["by_category"]) == pytest.approx(810.38)


def test_non_billable_work_is_tracked_in_hours_value_and_cost(engine, tmp_path):
    mapping = money_mapping(tmp_path)
    seed(engine)
    project = mapping.project("MONEY")
    assert project is not None
    period = period_for("2026-W53", "Europe/Berlin")
    with engine.connect() as conn:
        frames = load_frames(
            conn, "MONEY", period.end_utc, tz="Europe/Berlin", splits=(date(2027, 1, 1),)
        )
    summary = non_billable_summary(frames, mapping, project, period)
    assert summary == {"hours": 4.0, "value": pytest.approx(399.96), "cost": 240.0}


def test_the_rate_table_resolves_by_person_card_change_global_and_default(tmp_path):
    mapping = money_mapping(tmp_path)
    project = mapping.project("MONEY")
    assert project is not None

    def billing(person: str | None, day: date) -> str:
        return str(rate_on(mapping, project, person, day).billing)

    before, after = date(2026, 12, 31), date(2027, 1, 1)
    assert [billing(p, before) for p in ("ann", "bob", "cid", "zed", None)] == [
        "120", "90.5", "70", "85.25", "85.25",
    ]  # fmt: skip
    assert [billing(p, after) for p in ("ann", "bob", "cid")] == ["120", "99.99", "70"]
    assert rate_on(mapping, project, "bob", after).cost == 60
    assert rate_on(mapping, project, "cid", after).cost == 40


def test_a_change_keeps_the_rate_it_was_priced_at_until_a_new_assignee(engine, tmp_path):
    """Priced on 31 Dec at 90.5; a new estimate on 2 Jan re-prices the hours at 90.5, not at
    the new 99.99 (re-pricing for a rate change is explicit); another assignee takes today's."""
    mapping = money_mapping(tmp_path)
    new = issue_row("9", project_key="MONEY", key="MONEY-9", assignee="bob")
    new.update(created=at(2026, 12, 31, 9), updated=at(2026, 12, 31, 9))
    new["original_estimate_seconds"] = 10 * 3600
    priced_at = at(2026, 12, 31, 10).astimezone(UTC)
    with engine.begin() as conn:
        conn.execute(insert(schema.issues).values(new))
        evaluate_issue(conn, mapping, "9", priced_at)

    def change() -> dict:
        with engine.connect() as conn:
            row = conn.execute(schema.scope_changes.select()).mappings().one()
            return dict(row)

    assert (change()["cost"], change()["hours"]) == (905.0, 10.0)

    def edit(now: datetime, **fields) -> None:
        with engine.begin() as conn:
            before = dict(
                conn.execute(schema.issues.select().where(schema.issues.c.id == "9"))
                .mappings()
                .one()
            )
            conn.execute(schema.issues.update().where(schema.issues.c.id == "9").values(**fields))
            evaluate_issue(conn, mapping, "9", now, previous=before)

    edit(priced_at + timedelta(days=2), original_estimate_seconds=11 * 3600 + 1080)  # 11.3 h
    assert change()["cost"] == 1022.65  # 11.3 x 90.5: the rate it was priced at
    edit(priced_at + timedelta(days=3), assignee="ann")
    assert change()["cost"] == 1356.0  # 11.3 x 120: ann's rate, today
    with engine.connect() as conn:
        history = price_history(conn, change()["id"])
    assert [(p.impact_version, str(p.rate.billing), p.priced_on) for p in history] == [
        (1, "90.5", date(2026, 12, 31)),
        (2, "90.5", date(2027, 1, 2)),
        (3, "120", date(2027, 1, 3)),
    ]
    assert [str(p.cost) for p in history] == ["905.0", "1022.65", "1356.0"]


def test_non_billable_types_and_labels_are_left_out_of_the_burn(engine, tmp_path):
    """Types and labels are not in the roll-up: the digest sums such a project's worklogs itself,
    by issue type and labels, and still leaves those issues' work out of the client's burn."""
    text = MAPPING_TOML.replace(
        'non_billable = { components = ["Warranty"] }',
        'non_billable = { types = ["Bug"], labels = ["internal"] }',
    )
    mapping = money_mapping(tmp_path, text)
    seed(engine)
    with engine.begin() as conn:
        for issue_id, fields in (("3", {"issue_type": "Bug"}), ("4", {"labels": ["internal"]})):
            row = issue_row(issue_id, project_key="MONEY", key=f"MONEY-{issue_id}")
            row.update(created=at(2026, 11, 20), updated=at(2026, 11, 20), **fields)
            conn.execute(insert(schema.issues).values(row))
            conn.execute(
                insert(schema.worklogs).values(
                    id=f"x{issue_id}", issue_id=issue_id, author="ann", seconds=36000,
                    started=at(2026, 12, 29, 9), updated=at(2026, 12, 29, 9), deleted=False,
                )
            )  # fmt: skip
    rollup.rebuild(engine, "MONEY", "Europe/Berlin")
    with engine.connect() as conn:
        budget = digest_for(conn, mapping, "MONEY", "2026-W53")["budget"]
    # The Warranty component is billable now: w6 (4 h x 99.99) joins the burn; Bug and label don't
    assert f"{budget['spent']:.2f}" == "1210.34"
