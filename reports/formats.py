"""Every number, amount and date a person reads, formatted once, here, by Babel for a locale.

The Jira comment, the digest (subject, HTML, text), its charts and the baseline label each had a
formatter of their own, so one amount read "EUR 803" in the digest and "EUR 803.20" on the ticket.
Text meant for people now goes through this module; the JSON keeps plain numbers (money to cents,
hours to 0.1) and ISO 8601 dates, which are for programs.

The rules, the same for every caller:

- **Locale**: a Babel locale name such as "en_GB" or "de_DE"; `DEFAULT_LOCALE` until a project
  names its own. Babel decides separators, symbol placement and month names.
- **Rounding**: half-up, as on paper (2.675 -> 2.68), in decimal arithmetic from the float's
  shortest representation. Binary floats round 2.675 down (it is stored as 2.67499…) and Babel on
  its own rounds half-even; either would make a printed total disagree with a hand calculation.
  It happens once, at formatting, to the places shown.
- **Money**: the currency's own minor units (EUR 2, JPY 0, BHD 3). A whole amount drops them
  ("€1,360"), any other amount shows them all ("€803.20"): people write whole prices without
  ".00", and an amount with cents never hides them. See `money`.
- **Hours** and other tenths (days, scores): at most one decimal, a trailing ".0" dropped
  ("10 h", "10.5 h"), as the figures are kept to 0.1.
- **Blank**: None, NaN or an infinite value is `BLANK` everywhere, so an unknown figure never reads
  as a zero.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.numbers import NumberPattern, get_currency_precision, get_currency_symbol

DEFAULT_LOCALE = "en_GB"
BLANK = "—"
_NBSP = "\xa0"  # what Babel puts between an amount and its symbol: they never part at a line end

DateStyle = Literal["medium", "day_month", "month_year"]
# CLDR skeletons, not patterns: the locale orders the parts ("5 Dec 2027", "5. Dez. 2027",
# "Dec 5, 2027") where a fixed pattern would impose one country's order on everyone.
_SKELETONS: dict[DateStyle, str] = {
    "medium": "yMMMd",  # 5 Dec 2027: a month name cannot be misread as a day, unlike 05/12
    "day_month": "MMMd",  # 5 Dec: chart ticks, where the year would crowd the axis
    "month_year": "yMMM",  # Dec 2027: chart ticks on month starts
}


# --- numbers and money ---------------------------------------------------------------------


def money(
    amount: Any, currency: str, locale: str = DEFAULT_LOCALE, *, cents: bool | None = None
) -> str:
    """An amount in its currency, e.g. "€1,360", "€803.20", "1.360 €", "JP¥1,360".

    Rounded half-up to the currency's minor units (JPY has none). `cents` None is the house
    rule, used by every text we write: a whole amount (after rounding) drops its minor units,
    any other shows them all. True always shows them ("€1,360.00"); False rounds to whole units.
    Without a currency code the amount is shown by the same rule, with no symbol.
    """
    exact = _decimal(amount)
    if exact is None:
        return BLANK
    places = get_currency_precision(currency) if currency else 2
    rounded = half_up(exact, places)
    whole = rounded == rounded.to_integral_value()
    shown = places if cents or (cents is None and not whole) else 0
    rounded = half_up(exact, shown)  # from the exact amount: no double rounding when cents=False
    loc = _locale(locale)
    if not currency:
        return _pattern(loc, "decimal", shown, shown).apply(rounded, loc)
    pattern = _pattern(loc, "currency", shown, shown)
    text = pattern.apply(rounded, loc, currency=currency, currency_digits=False)
    return _space_letters(text, get_currency_symbol(currency, loc))


def currency_symbol(currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """ "€" for EUR in most locales, "US$" for USD in en_GB: the symbol `money` prints."""
    return get_currency_symbol(currency, _locale(locale)) if currency else ""


def number(value: Any, locale: str = DEFAULT_LOCALE, places: int = 0, *, trim: bool = False) -> str:
    """A figure with `places` decimals, half-up, grouped as the locale groups ("1,200.50").

    `trim` drops trailing zeros ("10.5", "10" rather than "10.0") for figures kept to a tenth.
    """
    exact = _decimal(value)
    if exact is None:
        return BLANK
    loc = _locale(locale)
    pattern = _pattern(loc, "decimal", 0 if trim else places, places)
    return pattern.apply(half_up(exact, places), loc)


def tenths(value: Any, locale: str = DEFAULT_LOCALE) -> str:
    """A figure kept to 0.1 (days, scores): "0.4", "1.5", "12"."""
    return number(value, locale, 1, trim=True)


def hours(value: Any, locale: str = DEFAULT_LOCALE) -> str:
    """ "10 h", "10.5 h", "1,200 h" ("10,5 h" in de_DE)."""
    text = tenths(value, locale)
    return text if text == BLANK else f"{text} h"


def percent(value: Any, locale: str = DEFAULT_LOCALE, places: int = 0) -> str:
    """`value` in percent points (76.8, as the digest keeps them): "77%", "77 %" in de_DE."""
    exact = _decimal(value)
    if exact is None:
        return BLANK
    loc = _locale(locale)
    # Rounded as points, then scaled back: Babel multiplies a fraction by 100 when it prints.
    fraction = half_up(exact, places).scaleb(-2)
    return _pattern(loc, "percent", places, places).apply(fraction, loc)


def half_up(value: Decimal | float, places: int) -> Decimal:
    """`value` to `places` decimals, halves away from zero (2.675 -> 2.68); never "-0".

    A float is taken as written (2.675, not the 2.67499… it is stored as), so the rounding
    agrees with what a person checking the figure by hand gets.
    """
    exact = value if isinstance(value, Decimal) else Decimal(str(float(value)))
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


# --- dates ------------------------------------------------------------------------------------


def date(
    value: Any, locale: str = DEFAULT_LOCALE, style: DateStyle = "medium", *, tz: str | None = None
) -> str:
    """A day as people write it: "5 Dec 2027" (en_GB), "5. Dez. 2027" (de_DE).

    `value` is a date, a datetime or an ISO 8601 string (as the digest JSON holds them); a string
    that is not ISO 8601 raises ValueError. A datetime is shown on its own calendar day unless
    `tz` names the zone to see it in (an aware datetime is needed then).
    """
    day = _moment(value, tz)
    if day is None:
        return BLANK
    return format_skeleton(_SKELETONS[style], day, locale=_locale(locale))


def datetime(value: Any, locale: str = DEFAULT_LOCALE, *, tz: str) -> str:
    """A moment in the zone `tz`: "5 Dec 2027, 14:30" (en_GB), "5. Dez. 2027, 14:30" (de_DE).

    The zone is required: a time is only meaningful to a reader in a known zone, and the texts
    that show one say which (the project's digest zone).
    """
    moment = _moment(value, tz)
    if moment is None:
        return BLANK
    if not isinstance(moment, dt.datetime):
        raise ValueError(f"{value!r} is a day, not a moment")
    loc = _locale(locale)
    day = format_skeleton(_SKELETONS["medium"], moment, locale=loc)
    time = format_time(moment, "short", locale=loc)  # the locale's clock: 14:30, or 2:30 PM
    return str(loc.datetime_formats["medium"]).replace("{1}", day).replace("{0}", time)


# --- which locale ------------------------------------------------------------------------------


def locale_of(d: Mapping[str, Any], locale: str | None = None) -> str:
    """The locale to show a digest in: the caller's, else the digest's own "locale", else the
    default. The renderers and charts all ask this, so one digest never mixes two locales."""
    return locale or str(d.get("locale") or DEFAULT_LOCALE)


# --- helpers ------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    """A finite Decimal, or None for a figure that is unknown (None, NaN, infinite)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        exact = value
    elif isinstance(value, int):
        exact = Decimal(value)
    else:
        exact = Decimal(str(float(value)))  # as written: see `half_up`
    return exact if exact.is_finite() else None


def _space_letters(text: str, symbol: str) -> str:
    """CLDR's currency spacing, which Babel leaves out: a symbol that ends (or starts) with a
    letter is kept apart from the digits it touches, "CHF 1,360" rather than "CHF1,360"; a sign
    such as "€" or "US$" is not."""
    if symbol[-1:].isalpha():
        text = re.sub(re.escape(symbol) + r"(?=\d)", symbol + _NBSP, text)
    if symbol[:1].isalpha():
        text = re.sub(r"(?<=\d)" + re.escape(symbol), _NBSP + symbol, text)
    return text


def _moment(value: Any, tz: str | None) -> dt.date | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, dt.date):
        raise TypeError(f"not a date: {value!r}")
    if tz is None:
        return moment
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset to place it in {tz}")
    return moment.astimezone(ZoneInfo(tz))


@lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache(maxsize=256)
def _pattern(loc: Locale, kind: str, least: int, most: int) -> NumberPattern:
    """The locale's own pattern for `kind`, with the decimals we decided instead of its defaults."""
    patterns = {
        "currency": loc.currency_formats["standard"],
        "decimal": loc.decimal_formats[None],
        "percent": loc.percent_formats[None],
    }
    pattern = copy.copy(patterns[kind])
    pattern.frac_prec = (least, most)
    return pattern
