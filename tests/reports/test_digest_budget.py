from datetime import UTC, date, datetime

import pandas as pd

from mappings.model import DigestSchedule, JiraFields, Mapping, Project, Rate
from reports.budget import calculate_budget, calculate_series, category_of, worklog_cost
from reports.frames import empty_frames, frames_from_records
from reports.period import period_for

PROJECT = Project(
    key="ACME", client="Acme", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=None, hours_per_point=6, weekly_capacity_hours=40,
    default_rate=50, digest=DigestSchedule(tz="UTC"),
    categories=(("Backend", 6_000.0), ("Frontend", 4_000.0)),
)  # fmt: skip
MAPPING = Mapping(
    jira=JiraFields(), projects=(PROJECT,), rates=(("developer", Rate(100.0)),),
    people=(("dev-1", "developer"), ("odd-1", "astronaut")),  # a role without a rate
)  # fmt: skip
WEEK = period_for("2026-W47", "UTC")


def t(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_empty_budget():
    assert calculate_budget(empty_frames(), MAPPING, PROJECT, WEEK) == {
        "total": 10_000.0,
        "spent": 0.0,
        "spent_this_week": 0.0,
        "remaining": 10_000.0,
        "burn_pct": 0.0,
        "runway_date": None,  # no burn: the money never runs out
        "by_category": [
            {"category": "Backend", "budget": 6_000.0, "spent": 0.0},
            {"category": "Frontend", "budget": 4_000.0, "spent": 0.0},
        ],
    }


def test_empty_series_still_lists_the_weeks():
    series = calculate_series(empty_frames(), MAPPING, PROJECT, WEEK, 0.0)
    assert series["weeks"] == ["2026-W45", "2026-W46", "2026-W47"]
    assert series["spent_cum"] == [0.0, 0.0, 0.0]


def test_spent_is_priced_at_the_authors_rate_else_the_default():
    frames = frames_from_records(
        worklogs=[
            {"started": t(17), "author": "dev-1", "components": ("Backend",), "seconds": 7200},
            {"started": t(17), "author": "stranger", "components": (), "seconds": 3600},
            {"started": t(17), "author": "odd-1", "components": (), "seconds": 3600},
            {"started": t(17), "author": None, "components": (), "seconds": 1800},
        ]
    )
    # 2 h x 100, 1 h x 50 (not in [people]), 1 h x 50 (role has no rate), 0.5 h x 50
    assert worklog_cost(frames.worklogs, MAPPING, PROJECT).tolist() == [200.0, 50.0, 50.0, 25.0]


def test_category_is_the_first_component_naming_one():
    components = pd.Series([("Design", "Frontend", "Backend"), ("Design",), ()], dtype=object)
    assert category_of(components, ["Backend", "Frontend"]).tolist() == [
        "Frontend", "Uncategorised", "Uncategorised",
    ]  # fmt: skip


def test_runway_uses_the_last_four_weeks_and_spent_stops_at_the_period_end():
    frames = frames_from_records(
        worklogs=[
            # 10 h x 100 in each of W44..W47 (W44 is before the project's start: still spent)
            *[{"started": t(d), "author": "dev-1", "components": ("Backend",), "seconds": 36000}
              for d in (1, 3, 10, 17)],
            {"started": t(23, 0), "author": "dev-1", "components": (), "seconds": 36000},  # after
        ]
    )  # fmt: skip
    budget = calculate_budget(frames, MAPPING, PROJECT, WEEK)
    assert budget["spent"] == 4_000.0 and budget["spent_this_week"] == 1_000.0
    # window W45..W47 (the project starts in W45): 3000 / 3 = 1000 a week;
    # remaining 6000 = 6 weeks after Monday Nov 23 -> Monday Jan 4
    assert budget["runway_date"] == date(2027, 1, 4)
    assert budget["by_category"][0] == {"category": "Backend", "budget": 6_000.0, "spent": 4_000.0}


def test_without_categories_everything_is_uncategorised():
    plain = Project(**{**PROJECT.__dict__, "categories": ()})
    frames = frames_from_records(
        worklogs=[{"started": t(17), "author": "x", "components": ("Backend",), "seconds": 3600}]
    )
    assert calculate_budget(frames, MAPPING, plain, WEEK)["by_category"] == [
        {"category": "Uncategorised", "budget": 10_000.0, "spent": 50.0}
    ]
