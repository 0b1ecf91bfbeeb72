from datetime import UTC, date, datetime

import pandas as pd
import pytest

from mappings.model import Project
from reports.evm import calculate_evm, earned_share, planned_share
from reports.period import period_for

PROJECT = Project(
    key="ACME", client="Acme", currency="EUR", budget=10_000, start=date(2026, 11, 2),
    end=date(2026, 12, 27), baseline=None, hours_per_point=6, weekly_capacity_hours=40,
    default_rate=50,
)  # fmt: skip
AT = datetime(2026, 11, 23, tzinfo=UTC)  # 21 of 56 days
WEEK = period_for("2026-W47", "UTC")  # ends at AT


def state(done: dict[str, bool]) -> pd.DataFrame:
    return pd.DataFrame({"done": pd.Series(done, dtype=bool)})


def evm(done=None, project=PROJECT, **kw):
    args = {"bac": 0.0, "ac": 0.0, "plan_hours": pd.Series(dtype=float)} | kw
    return calculate_evm(state(done or {}), project, WEEK, **args)


def test_empty_evm_has_no_division_errors():
    figures = evm()
    assert {k: v for k, v in figures.items() if k != "explain"} == {
        "bac": 0.0, "pv": 0.0, "ev": 0.0, "ac": 0.0, "cpi": None, "spi": None,
        "eac": None, "etc": None, "vac": None,
    }  # fmt: skip
    assert figures["explain"]["cpi"] == (
        "Cost efficiency cannot be measured yet: nothing has been spent."
    )


def test_planned_value_is_linear_over_the_project_and_clamped():
    assert planned_share(PROJECT, "UTC", AT) == pytest.approx(21 / 56)
    assert planned_share(PROJECT, "UTC", datetime(2026, 1, 1, tzinfo=UTC)) == 0.0
    assert planned_share(PROJECT, "UTC", datetime(2027, 6, 1, tzinfo=UTC)) == 1.0


def test_earned_share_weighs_done_hours_and_ignores_unpriced_issues():
    plan = pd.Series({"1": 10.0, "2": 30.0, "3": float("nan"), "9": 20.0})
    done = pd.Series({"1": True, "2": False, "3": True})  # 9 is not seen any more: not done
    assert earned_share(plan, done) == pytest.approx(10 / 60)


def test_evm_figures_and_sentences():
    plan = pd.Series({"1": 30.0, "2": 30.0})
    figures = evm(bac=11_200.0, ac=5_000.0, plan_hours=plan, done={"1": True})
    # PV 11200 x 21/56 = 4200; EV 11200 x 1/2 = 5600; CPI 5600/5000 = 1.12; SPI 5600/4200
    # EAC 11200 / 1.12 = 10000; ETC 10000 - 5000; VAC 11200 - 10000
    assert figures["pv"] == pytest.approx(4_200.0)
    assert figures["ev"] == pytest.approx(5_600.0)
    assert figures["cpi"] == pytest.approx(1.12)
    assert figures["spi"] == pytest.approx(4 / 3)
    assert figures["eac"] == pytest.approx(10_000.0)
    assert figures["etc"] == pytest.approx(5_000.0)
    assert figures["vac"] == pytest.approx(1_200.0)
    assert figures["explain"]["cpi"] == (
        "For every euro spent, 1.12 euros of planned work was delivered."
    )
    assert figures["explain"]["vac"] == "The project is forecast to end €1,200 under budget."


def test_spent_without_delivery_gives_no_forecast_rather_than_infinity():
    figures = evm(bac=1_000.0, ac=500.0, plan_hours=pd.Series({"1": 8.0}))
    assert figures["cpi"] == 0.0 and figures["eac"] is None and figures["vac"] is None


def test_sentences_name_other_currencies():
    usd = Project(**{**PROJECT.__dict__, "currency": "USD"})
    sek = Project(**{**PROJECT.__dict__, "currency": "SEK"})
    kw = {"bac": 100.0, "ac": 100.0, "plan_hours": pd.Series({"1": 1.0}), "done": {"1": True}}
    assert "every dollar spent, 1.00 dollars" in evm(project=usd, **kw)["explain"]["cpi"]
    assert "every SEK spent, 1.00 SEK" in evm(project=sek, **kw)["explain"]["cpi"]
