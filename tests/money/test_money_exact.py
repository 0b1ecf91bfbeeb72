"""Money is exact from the mapping to the mail: decimals as written, rounded half-up once, in
the currency's own minor units."""

from __future__ import annotations

from decimal import Decimal

from reports import formats
from reports.digest import finalize
from reports.rates import hours_cost, minor_units, money
from service.scope.pricing import Hours, price
from tests.money.money_support import MAPPING_TOML, money_mapping


def test_the_digest_json_rounds_money_half_up_as_the_texts_do():
    # round(2.675, 2) is 2.67 (the float is 2.67499…); a person, and the mail, say 2.68
    assert finalize({"spent": 2.675, "cost": 1.005}, "UTC") == {"spent": 2.68, "cost": 1.01}
    assert formats.money(2.675, "EUR") == "€2.68"


def test_amounts_from_the_mapping_are_the_decimals_written():
    assert money(80.10) == Decimal("80.1") and money(99.99) == Decimal("99.99")
    assert money(85) == Decimal(85) and money(None) is None
    # 1 h 20 at 70: an exact third of a cent, never rounded on the way
    assert hours_cost(4800, Decimal(70)) * 3 == Decimal(280)


def test_a_yen_project_prices_without_minor_units(tmp_path):
    mapping = money_mapping(tmp_path, MAPPING_TOML.replace('currency = "EUR"', 'currency = "JPY"'))
    project = mapping.project("MONEY")
    assert project is not None and minor_units("JPY") == 0 and minor_units("BHD") == 3
    impact = price(Hours(2.5, "estimate"), "zed", project, mapping)  # 2.5 h x 85.25 = 213.125
    assert impact.cost == 213.0
    assert formats.money(impact.cost, "JPY") == "JP¥213"
    euro = price(Hours(2.5, "estimate"), "zed", mapping.project("MONEY"), mapping)
    assert euro.rate == 85.25
