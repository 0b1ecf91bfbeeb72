"""A total of several projects in one currency, at the dated exchange rate in force on the as-of
day, summed exactly and rounded half-up once in the target currency's minor units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mappings.model import ExchangeRate
from reports.exchange import ProjectAmounts, rate_in_force, total_in

D = Decimal
RATES = (
    ExchangeRate(date(2026, 1, 1), "USD", "EUR", D("0.92")),
    ExchangeRate(date(2027, 1, 1), "USD", "EUR", D("0.9137")),
    ExchangeRate(date(2026, 1, 1), "USD", "JPY", D("151.5")),
    ExchangeRate(date(2026, 1, 1), "EUR", "JPY", D("163.25")),
)
EURO = ProjectAmounts("MONEY", "EUR", D("1000"), D("810.38"), D("1250.50"))
DOLLAR = ProjectAmounts("WEST", "USD", D("120000.50"), D("333.33"), D("119000"))


def test_a_total_converts_each_currency_at_the_rate_in_force_then_rounds_once():
    total = total_in([EURO, DOLLAR], "EUR", RATES, date(2026, 12, 31))
    assert total.missing == ()
    assert total.budget == D("111400.46")  # 1000 + 120000.50 x 0.92
    assert total.spent == D("1117.04")  # 810.38 + 306.6636
    assert total.forecast == D("110730.50")  # 1250.50 + 109480
    assert [(r.currency, r.start, r.rate) for r in total.used] == [
        ("USD", date(2026, 1, 1), D("0.92"))
    ]


def test_a_rate_is_in_force_from_its_day_until_the_next_one():
    assert rate_in_force(RATES, "USD", "EUR", date(2025, 12, 31)) is None
    assert rate_in_force(RATES, "USD", "EUR", date(2026, 1, 1)) == RATES[0]
    assert rate_in_force(RATES, "USD", "EUR", date(2026, 12, 31)) == RATES[0]
    assert rate_in_force(RATES, "USD", "EUR", date(2027, 1, 1)) == RATES[1]
    new_year = total_in([EURO, DOLLAR], "EUR", RATES, date(2027, 1, 1))
    assert new_year.budget == D("110644.46")  # 1000 + 120000.50 x 0.9137 = 110644.45685


def test_yen_has_no_minor_units_and_the_total_is_rounded_once_not_per_project():
    cents = [ProjectAmounts(k, "USD", D("0.01"), D("0.01"), None) for k in ("A1", "A2")]
    total = total_in(cents, "JPY", RATES, date(2026, 6, 1))
    assert total.budget == D("3")  # 1.515 + 1.515 = 3.03; each rounded first would make 4
    assert total.forecast is None and total.no_forecast == ("A1", "A2")
    mixed = total_in([EURO, DOLLAR], "JPY", RATES, date(2026, 6, 1))
    assert mixed.spent == D("182794")  # 810.38 x 163.25 + 333.33 x 151.5 = 132294.535 + 50499.495


def test_a_currency_without_a_rate_gives_no_total_but_says_which_project():
    total = total_in([EURO, DOLLAR], "USD", RATES, date(2026, 12, 31))
    # EUR -> USD is not in the table; the inverse of USD -> EUR is not guessed
    assert total.missing == ("MONEY (EUR)",)
    assert (total.budget, total.spent, total.forecast) == (None, None, None)
    too_early = total_in([EURO, DOLLAR], "EUR", RATES, date(2025, 12, 31))
    assert too_early.missing == ("WEST (USD)",)


def test_no_projects_make_a_total_of_zero():
    total = total_in([], "EUR", RATES, date(2026, 12, 31))
    assert (total.budget, total.spent, total.forecast, total.missing) == (D(0), D(0), D(0), ())
