"""The agency's own burn, for the PM only: all logged work at the cost rates, against the price."""

from __future__ import annotations

import pytest

from reports.budget import calculate_budget
from reports.contracts import internal_burn
from reports.frames import frames_from_records
from reports.period import period_for
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.money.test_money_history import at

WORK = [
    {"started": at(2026, 12, 30, 9), "author": "cid", "components": ("Backend",), "seconds": 4800},
    {"started": at(2026, 12, 31, 9), "author": "bob", "components": ("Backend",), "seconds": 5400},
    {"started": at(2027, 1, 1, 9), "author": "bob", "components": ("Backend",), "seconds": 7200},
    {"started": at(2027, 1, 2, 9), "author": "bob", "components": ("Warranty",), "seconds": 14400},
]


def burn(tmp_path, text: str, work=WORK):
    mapping = money_mapping(tmp_path, text)
    project = mapping.project("MONEY")
    assert project is not None
    frames = frames_from_records(worklogs=work)
    period = period_for("2026-W53", "Europe/Berlin")
    budget = calculate_budget(frames, mapping, project, period)
    return budget, internal_burn(frames, mapping, project, period, budget)


def test_a_fixed_price_burns_the_agencys_cost_against_the_price(tmp_path):
    fixed = MAPPING_TOML.replace("pm = [", 'contract = "fixed_price"\npm = [')
    _, internal = burn(tmp_path, fixed)
    # 1 h 20 x 40 + 1.5 h x 55 + 2 h x 60 + 4 h x 60 (non-billable work costs us all the same)
    assert internal["cost"] == pytest.approx(495.8333333)
    assert internal["revenue"] == 1000
    assert internal["margin"] == pytest.approx(504.1666667)
    assert internal["cost_burn_pct"] == pytest.approx(49.58333333)


def test_time_and_materials_earns_the_billed_work(tmp_path):
    budget, internal = burn(tmp_path, MAPPING_TOML)
    assert budget["spent"] == pytest.approx(93.3333333 + 135.75 + 199.98)
    assert internal["revenue"] == budget["spent"]


def test_an_hour_without_a_cost_rate_leaves_the_margin_unknown_not_zero(tmp_path):
    work = [*WORK, {"started": at(2026, 12, 30, 9), "author": "zed", "seconds": 3600}]
    _, internal = burn(tmp_path, MAPPING_TOML, work)
    assert internal["cost"] is None and internal["margin"] is None
