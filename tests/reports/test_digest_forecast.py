from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from mappings.model import Project
from reports.forecast import Simulation, calculate_forecast, finish_date, percentile
from reports.period import period_for

PROJECT = Project(
    key="ACME", client="Acme", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=None, hours_per_point=6, weekly_capacity_hours=40,
    default_rate=50,
)  # fmt: skip
WEEK = period_for("2026-W47", "UTC")  # ends Monday 2026-11-23 00:00; W45..W47 are history


def state(rows):
    """rows: (issue id, done_at or None)."""
    return pd.DataFrame(
        {
            "done": [at is not None for _, at in rows],
            "done_at": pd.to_datetime([at for _, at in rows], utc=True),
        },
        index=[i for i, _ in rows],
    )


def forecast(rows, hours, new=(), seed=7, trials=10_000):
    return calculate_forecast(
        state(rows), pd.Series(hours, dtype=float), list(new), PROJECT, WEEK,
        np.random.default_rng(seed), trials=trials,
    )[0]  # fmt: skip


def t(day):
    return datetime(2026, 11, day, 12, tzinfo=UTC)


def test_empty_forecast_says_why_there_are_no_dates():
    assert forecast([], {}) == {
        "p50": None, "p85": None, "p95": None, "moved_days": None,
        "reason": "no estimated work to forecast",
    }  # fmt: skip


def test_no_throughput_gives_no_dates_and_a_reason():
    result = forecast([("1", None)], {"1": 8})
    assert result["p85"] is None
    assert result["reason"] == "no estimated work was finished in the last 3 weeks"


def test_constant_throughput_is_exact_and_new_scope_moves_p85():
    # 10 h done in each of W45, W46, W47; open 25 h, of which 5 h is this week's new change
    rows = [("a", t(3)), ("b", t(10)), ("c", t(17)), ("open", None), ("new", None)]
    hours = {"a": 10, "b": 10, "c": 10, "open": 20, "new": 5}
    result = forecast(rows, hours, new=["new"])
    # 25 h / 10 a week = 2.5 weeks = 17.5 days -> the 18th day from Monday Nov 23 = Dec 10
    assert result["p50"] == result["p85"] == result["p95"] == date(2026, 12, 10)
    # without "new": 20 h = 2 weeks = 14 days -> Sunday Dec 6; moved 4 days
    assert result["moved_days"] == 4
    assert result["reason"] is None


def test_percentiles_of_a_lumpy_throughput():
    # W45: 0 h, W46: 20 h, W47: 0 h -> each drawn week finishes 20 h with probability 1/3.
    # For 20 h open: P(done within k weeks) = 1 - (2/3)^k: 0.33, 0.56, 0.70, 0.80, 0.87, 0.91,
    # 0.94, 0.96 ... so p50 = 2 weeks, p85 = 5 weeks, p95 = 8 weeks.
    rows = [("a", t(10)), ("open", None)]
    result = forecast(rows, {"a": 20, "open": 20})
    assert result["p50"] == date(2026, 12, 6)  # 2 weeks after Nov 23, minus a day
    assert result["p85"] == date(2026, 12, 27)  # 5 weeks
    assert result["p95"] == date(2027, 1, 17)  # 8 weeks


def test_same_seed_same_dates_other_seed_may_differ():
    rows = [("a", t(3)), ("b", t(10)), ("c", t(11)), ("open", None)]
    hours = {"a": 3, "b": 7, "c": 20, "open": 100}
    assert forecast(rows, hours, seed=1) == forecast(rows, hours, seed=1)
    one = forecast(rows, hours, seed=1)
    assert one["p50"] <= one["p85"] <= one["p95"]


def test_beyond_the_horizon_is_null_with_a_reason():
    result = forecast([("a", t(10)), ("open", None)], {"a": 0.001, "open": 10_000}, trials=500)
    assert result["p50"] is None and result["reason"] == "beyond 10 years at the recent pace"


def test_simulation_interpolates_inside_the_finishing_week():
    simulation = Simulation(np.array([10.0]), np.random.default_rng(0), trials=3)
    assert simulation.weeks_to(25).tolist() == [2.5, 2.5, 2.5]
    assert simulation.weeks_to(0).tolist() == [0.0, 0.0, 0.0]
    assert percentile(np.array([1.0, 2.0, np.inf]), 50) == 2.0
    assert finish_date(WEEK, 1.0) == date(2026, 11, 29)  # a full week: the Sunday
    assert finish_date(WEEK, 0.0) == WEEK.last_day
    assert finish_date(WEEK, float("inf")) is None


@pytest.mark.parametrize("trials", [1, 10])
def test_small_trial_counts_work(trials):
    simulation = Simulation(np.array([5.0, 15.0]), np.random.default_rng(3), trials=trials)
    assert simulation.weeks_to(30).shape == (trials,)
