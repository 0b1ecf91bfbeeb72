"""Every figure a person reads, as they read it: money, numbers, hours, percentages and dates."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from reports import formats
from reports.formats import BLANK

NBSP = "\xa0"  # Babel keeps "1.360 €" on one line with a no-break space


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        # a whole amount drops its cents; any other amount shows all of them
        (1360, "EUR", "en_GB", "€1,360"),
        (1360.0, "EUR", "en_GB", "€1,360"),
        (803.2, "EUR", "en_GB", "€803.20"),
        (1360, "EUR", "de_DE", f"1.360{NBSP}€"),
        (803.2, "EUR", "de_DE", f"803,20{NBSP}€"),
        (1234567.5, "EUR", "de_DE", f"1.234.567,50{NBSP}€"),
        (1360, "USD", "en_GB", "US$1,360"),
        (-21036.92, "EUR", "en_GB", "-€21,036.92"),
        # the currency's own minor units: none for the yen, three for the Bahraini dinar
        (1360.4, "JPY", "en_GB", "JP¥1,360"),
        (1360.5, "JPY", "en_GB", "JP¥1,361"),
        (1360.4, "JPY", "de_DE", f"1.360{NBSP}¥"),
        (1.2345, "BHD", "en_GB", f"BHD{NBSP}1.235"),
        # a symbol of letters stands apart from the digits, as CLDR asks and Babel does not
        (-5, "CHF", "en_GB", f"-CHF{NBSP}5"),
        (5, "CHF", "de_DE", f"5{NBSP}CHF"),
        # half-up, in decimal: binary floats give round(2.675, 2) == 2.67, Babel alone 2.66
        (2.675, "EUR", "en_GB", "€2.68"),
        (2.665, "EUR", "en_GB", "€2.67"),
        (1.005, "EUR", "en_GB", "€1.01"),
        (Decimal("2.675"), "EUR", "en_GB", "€2.68"),
        (-2.675, "EUR", "en_GB", "-€2.68"),
        # rounding first, then the rule: 1359.999 is a whole €1,360; a tiny loss is no "-€0"
        (1359.999, "EUR", "en_GB", "€1,360"),
        (-0.001, "EUR", "en_GB", "€0"),
        # no currency code: the same rule, no symbol
        (803.2, "", "en_GB", "803.20"),
        (1360, "", "de_DE", "1.360"),
    ],
)
def test_money(amount: Any, currency: str, locale: str, shown: str) -> None:
    assert formats.money(amount, currency, locale) == shown


@pytest.mark.parametrize(
    ("amount", "cents", "locale", "shown"),
    [
        (1360, True, "en_GB", "€1,360.00"),
        (1360, True, "de_DE", f"1.360,00{NBSP}€"),
        (1360.5, False, "en_GB", "€1,361"),
        (0.495, False, "en_GB", "€0"),  # from the exact amount, not from 0.50
    ],
)
def test_money_cents_can_be_forced_either_way(
    amount: float, cents: bool, locale: str, shown: str
) -> None:
    assert formats.money(amount, "EUR", locale, cents=cents) == shown


@pytest.mark.parametrize(
    ("value", "locale", "places", "shown"),
    [
        (0.865, "en_GB", 2, "0.87"),
        (0.9, "en_GB", 2, "0.90"),
        (1200.5, "en_GB", 1, "1,200.5"),
        (1200.5, "de_DE", 1, "1.200,5"),
        (2.5, "en_GB", 0, "3"),  # half-up, where round(2.5) == 2
        (-0.04, "en_GB", 1, "0.0"),
    ],
)
def test_number(value: float, locale: str, places: int, shown: str) -> None:
    assert formats.number(value, locale, places) == shown


@pytest.mark.parametrize(
    ("value", "locale", "shown"),
    [
        (10, "en_GB", "10 h"),
        (10.0, "en_GB", "10 h"),
        (10.5, "en_GB", "10.5 h"),
        (10.25, "en_GB", "10.3 h"),
        (1200, "en_GB", "1,200 h"),
        (10.5, "de_DE", "10,5 h"),
        (1200.5, "de_DE", "1.200,5 h"),
        (0, "en_GB", "0 h"),
    ],
)
def test_hours(value: float, locale: str, shown: str) -> None:
    assert formats.hours(value, locale) == shown


@pytest.mark.parametrize(
    ("points", "locale", "shown"),
    [(76.8, "en_GB", "77%"), (12.5, "en_GB", "13%"), (0, "en_GB", "0%"), (76.8, "de_DE", "77 %")],
)
def test_percent_takes_percent_points(points: float, locale: str, shown: str) -> None:
    assert formats.percent(points, locale).replace(NBSP, " ") == shown


@pytest.mark.parametrize(
    ("value", "locale", "style", "shown"),
    [
        (date(2027, 12, 5), "en_GB", "medium", "5 Dec 2027"),
        (date(2027, 12, 5), "de_DE", "medium", "5. Dez. 2027"),
        (date(2027, 12, 5), "en_US", "medium", "Dec 5, 2027"),
        ("2027-12-05", "en_GB", "medium", "5 Dec 2027"),
        # a moment is shown on its own day, in the offset it was given
        ("2026-11-17T23:30:00+01:00", "en_GB", "medium", "17 Nov 2026"),
        (date(2027, 12, 5), "en_GB", "day_month", "5 Dec"),
        (date(2027, 12, 5), "de_DE", "day_month", "5. Dez."),
        (date(2027, 12, 5), "en_GB", "month_year", "Dec 2027"),
    ],
)
def test_date(value: Any, locale: str, style: formats.DateStyle, shown: str) -> None:
    assert formats.date(value, locale, style) == shown


def test_date_in_a_zone_is_the_day_there() -> None:
    late_evening = datetime(2026, 8, 31, 23, 30, tzinfo=UTC)
    assert formats.date(late_evening, tz="UTC") == "31 Aug 2026"
    assert formats.date(late_evening, tz="Europe/Berlin") == "1 Sept 2026"  # CLDR en_GB: "Sept"
    with pytest.raises(ValueError, match="no UTC offset"):
        formats.date(datetime(2026, 8, 31, 23, 30), tz="Europe/Berlin")  # noqa: DTZ001
    with pytest.raises(ValueError):
        formats.date("next Tuesday")


def test_datetime_is_shown_in_the_zone_asked_for() -> None:
    moment = "2026-11-17T23:30:00+00:00"
    assert formats.datetime(moment, tz="Europe/Berlin") == "18 Nov 2026, 00:30"
    assert formats.datetime(moment, "de_DE", tz="Europe/Berlin") == "18. Nov. 2026, 00:30"
    assert formats.datetime(moment, tz="UTC") == "17 Nov 2026, 23:30"
    assert formats.datetime(moment, "en_US", tz="UTC") == "Nov 17, 2026, 11:30\u202fPM"


BLANKABLE: list[Callable[[Any], str]] = [
    lambda v: formats.money(v, "EUR"),
    lambda v: formats.money(v, "JPY", "de_DE"),
    lambda v: formats.number(v, "en_GB", 2),
    formats.hours,
    formats.tenths,
    formats.percent,
]


@pytest.mark.parametrize("unknown", [None, math.nan, math.inf])
@pytest.mark.parametrize("show", BLANKABLE)
def test_an_unknown_figure_is_the_same_blank_everywhere(
    show: Callable[[Any], str], unknown: float | None
) -> None:
    assert show(unknown) == BLANK


def test_an_unknown_date_is_the_same_blank() -> None:
    assert formats.date(None) == BLANK
    assert formats.datetime(None, tz="UTC") == BLANK


def test_the_locale_asked_for_wins_over_the_digests_own() -> None:
    assert formats.locale_of({}) == "en_GB"
    assert formats.locale_of({"locale": "de_DE"}) == "de_DE"
    assert formats.locale_of({"locale": "de_DE"}, "fr_FR") == "fr_FR"
