"""Money is exact from the mapping to the mail: decimals as written, rounded half-up once, in
the currency's own minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import insert

from mappings import ConfigError
from reports import formats
from reports.digest import finalize
from reports.rates import hours_cost, minor_units, money
from service.digest.load import digest_for
from service.scope.pricing import Hours, price
from service.store import schema
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.money.test_money_history import at
from tests.scope.scope_support import issue_row


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


def test_amounts_are_read_as_written_and_priced_to_the_cent(engine, tmp_path):
    text = MAPPING_TOML.replace("budget = 1000", "budget = 120000.50").replace(
        "default_rate = 85.25", "default_rate = 100.10"
    )
    mapping = money_mapping(tmp_path, text)
    project = mapping.project("MONEY")
    assert project is not None
    assert (project.budget, project.default_rate) == (Decimal("120000.50"), Decimal("100.10"))
    assert dict(mapping.rates)["developer"].billing == Decimal("80.10")
    # 45 minutes at 100.10 is 75.075; in binary floats 75.07499…, a cent short once rounded
    assert formats.money(100.10 * 0.75, "EUR") == "€75.07"
    with engine.begin() as conn:
        row = issue_row("1", project_key="MONEY", key="MONEY-1")
        row.update(created=at(2026, 11, 20), updated=at(2026, 11, 20))
        conn.execute(insert(schema.issues).values(row))
        conn.execute(
            insert(schema.worklogs).values(
                id="w", issue_id="1", author="zed", started=at(2026, 12, 29, 9), seconds=2700,
                updated=at(2026, 12, 29, 9), deleted=False,
            )
        )  # fmt: skip
    with engine.connect() as conn:
        budget = digest_for(conn, mapping, "MONEY", "2026-W53")["budget"]
    assert formats.money(budget["spent"], "EUR") == "€75.08"
    assert formats.money(budget["remaining"], "EUR") == "€119,925.43"  # 120,000.50 - 75.075


@pytest.mark.parametrize(
    ("written", "key", "line", "shown"),
    [
        ("default_rate = -100.10", "projects[0].default_rate", 12, "-100.10"),
        ("budget = 0.00", "projects[0].budget", 6, "0.00"),
        ("budget = nan", "projects[0].budget", 6, "NaN"),
    ],
)
def test_a_wrong_amount_names_file_line_and_key_as_written(tmp_path, written, key, line, shown):
    old = written.split(" = ")[0] + " = " + ("85.25" if "rate" in written else "1000")
    with pytest.raises(ConfigError) as error:
        money_mapping(tmp_path, MAPPING_TOML.replace(old, written))
    path = tmp_path / "money.toml"
    assert str(error.value) == f"{path}:{line}: {key}: must be a positive number, got {shown}"
