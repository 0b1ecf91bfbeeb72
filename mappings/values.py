"""The values a mapping file may hold, each refused with a message saying what it must be.

Each check takes what `tomllib` read and returns the value for the model, or raises `refuse(...)`
with a message in the author's terms ("must be a positive number, got "lots""). Strings are never
converted to numbers or dates: a quoted date in a TOML file is a mistake worth pointing at.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency
from pydantic import AfterValidator, BeforeValidator, PlainValidator
from pydantic_core import PydanticCustomError

from mappings.model import CLIENT_SECTION_CHOICES, CONTRACTS, WEEKDAYS

PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]+")
CUSTOM_FIELD = re.compile(r"customfield_\d+")
CURRENCY = re.compile(r"[A-Z]{3}")
# Deliberately loose: the SMTP server is the judge of an address; this only catches slips such as
# a missing "@" or a name pasted instead of an address.
EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")
# Jira's fixed status category keys; a status *name* here would silently match nothing.
STATUS_CATEGORIES = ("new", "indeterminate", "done")


def refuse(problem: str) -> PydanticCustomError:
    """The error for a wrong value, in our words; pydantic adds where it is."""
    # The text goes in as context, not as the template, so braces in it stay braces.
    return PydanticCustomError("mapping", "{problem}", {"problem": problem})


def problem_of(error: Any) -> str:
    """The message of one pydantic error: ours, or pydantic's for what our checks do not cover."""
    if error["type"] == "mapping":
        return str(error["ctx"]["problem"])
    if error["type"] == "missing":
        return "missing (required)"
    return f"{error['msg']}, got {show(error['input'])}"


def near_miss(key: str, allowed: Sequence[str]) -> str | None:
    """The allowed key that `key` is probably a typo of."""
    return next(iter(difflib.get_close_matches(key, allowed, n=1)), None)


def unknown_key(key: str, allowed: Sequence[str], listed: str | None = None) -> str:
    """Why `key` is refused, with the near miss if there is one: a typo must not pass silently."""
    hint = near_miss(key, allowed)
    guess = f"did you mean {hint}? " if hint else ""
    return f"unknown key; {guess}valid keys: {listed or ', '.join(allowed)}"


def show(value: Any) -> str:
    """A value as the author wrote it, more or less, for "got ..." in messages."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)  # as written: 120000.50, not Decimal('120000.50')
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return repr(value)


# --- single values ------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    if isinstance(value, Decimal):  # the loader reads every TOML float as a Decimal
        return value.is_finite()
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def positive(value: Any) -> float:
    if not _is_number(value) or value <= 0:
        raise refuse(f"must be a positive number, got {show(value)}")
    return float(value)


def positive_money(value: Any) -> Decimal:
    """An amount exactly as written: 100.10 is Decimal("100.10"), never the float 100.09999…"""
    if not _is_number(value) or value <= 0:
        raise refuse(f"must be a positive number, got {show(value)}")
    if isinstance(value, Decimal):
        return value
    # An int, or a float from a caller that built the table itself: its shortest form.
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _hour(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
        raise refuse(f"must be a whole hour from 0 to 23, got {show(value)}")
    return value


def _score(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise refuse(f"must be a whole score from 1 to 10, got {show(value)}")
    return value


def _percentage(value: Any) -> float:
    if not _is_number(value) or not 1 <= value <= 1000:
        raise refuse(f"must be a percentage from 1 to 1000, got {show(value)}")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise refuse(f"must be true or false, got {show(value)}")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refuse(f"must be a non-empty string, got {show(value)}")
    return value


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise refuse(f"must be {what}, got {show(value)}")
        return value

    return check


def _one_of(choices: Sequence[str]) -> Callable[[Any], str]:
    listed = ", ".join(json.dumps(c) for c in choices)
    return _matching(re.compile("|".join(map(re.escape, choices))), f"one of {listed}")


def _zone(value: Any) -> str:
    name = text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise refuse(f'must be an IANA time zone such as "Europe/Berlin", got "{name}"') from None
    return name


def _locale(value: Any) -> str:
    name = text(value)
    try:
        # Babel's own name for it: "en_GB.UTF-8" is en_GB, as the digest will format it.
        return str(Locale.parse(name))
    except (UnknownLocaleError, ValueError):
        raise refuse(f'must be a locale name such as "en_GB" or "de_DE", got "{name}"') from None


def _known_currency(value: Any) -> str:
    code = _matching(CURRENCY, 'a three-letter upper-case currency code such as "EUR"')(value)
    if not is_currency(code):  # CLDR's list, as Babel has it: "EUO" is a typo, not a currency
        raise refuse(f'must be an ISO 4217 currency code such as "EUR", got "{code}"')
    return code


def _day(value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise refuse(f"must be a date such as 2026-09-01 (no quotes), got {show(value)}")
    return value


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # A local time would be read in whatever zone the server runs in: refuse to guess.
            raise refuse(
                f"{value.isoformat()} has no UTC offset; write it with Z or an offset, "
                f"such as {value.isoformat()}Z"
            )
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise refuse(f"must be a date-time with offset such as 2026-09-01T09:00:00Z, got {show(value)}")


PositiveNumber = Annotated[float, PlainValidator(positive)]
# Money is a Decimal from the file on (`mappings.loader` reads TOML floats as Decimal), so no
# binary-float error is ever in a price; hours and percentages stay floats.
Money = Annotated[Decimal, PlainValidator(positive_money)]
OptionalPositive = Annotated[float | None, PlainValidator(positive)]  # None only as the default
OptionalMoney = Annotated[Decimal | None, PlainValidator(positive_money)]  # None only as default
Hour = Annotated[int, PlainValidator(_hour)]
Score = Annotated[int, PlainValidator(_score)]
Flag = Annotated[bool, PlainValidator(_flag)]
Text = Annotated[str, PlainValidator(text)]
ProjectKey = Annotated[
    str,
    PlainValidator(_matching(PROJECT_KEY, 'a Jira project key such as "ACME" ([A-Z][A-Z0-9_]+)')),
]
Currency = Annotated[
    str,
    PlainValidator(_matching(CURRENCY, 'a three-letter upper-case currency code such as "EUR"')),
]
KnownCurrency = Annotated[str, PlainValidator(_known_currency)]
CustomField = Annotated[
    str, PlainValidator(_matching(CUSTOM_FIELD, 'a custom field id such as "customfield_10016"'))
]
Label = Annotated[str, PlainValidator(_matching(re.compile(r"\S+"), "a Jira label (no spaces)"))]
Email = Annotated[
    str, PlainValidator(_matching(EMAIL, 'an e-mail address such as "pm@example.com"'))
]
Weekday = Annotated[
    str, PlainValidator(_matching(re.compile("|".join(WEEKDAYS)), f"one of {', '.join(WEEKDAYS)}"))
]
StatusCategory = Annotated[
    str,
    PlainValidator(
        _matching(
            re.compile("|".join(STATUS_CATEGORIES)),
            f"a Jira status category key ({', '.join(STATUS_CATEGORIES)})",
        )
    ),
]
Contract = Annotated[str, PlainValidator(_one_of(CONTRACTS))]
ClientSection = Annotated[str, PlainValidator(_one_of(CLIENT_SECTION_CHOICES))]
Zone = Annotated[str, PlainValidator(_zone)]
LocaleName = Annotated[str, PlainValidator(_locale)]
Day = Annotated[date, PlainValidator(_day)]
Instant = Annotated[datetime, PlainValidator(_instant)]


# --- arrays and free-form tables ----------------------------------------------------------------


def array_of(what: str) -> BeforeValidator:
    """Refuses anything but a TOML array, naming what the array must hold."""

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise refuse(f"must be {what}, got {show(value)}")
        return value

    return BeforeValidator(check)


def _table(value: Any) -> Any:
    if not isinstance(value, dict):
        raise refuse(f"must be a table, got {show(value)}")
    return value


IS_TABLE = BeforeValidator(_table)


def _ascending(values: tuple[float, ...]) -> tuple[float, ...]:
    if any(later <= earlier for earlier, later in zip(values, values[1:], strict=False)):
        shown = ", ".join(f"{v:g}" for v in values)
        raise refuse(f"must be in ascending order, each once, got [{shown}]")
    return values


Texts = Annotated[tuple[Text, ...], array_of("an array of strings")]
Emails = Annotated[tuple[Email, ...], array_of("an array of e-mail addresses")]
StatusCategories = Annotated[tuple[StatusCategory, ...], array_of("an array of strings")]
ClientSections = Annotated[tuple[ClientSection, ...], array_of("an array of section names")]
Percentages = Annotated[
    tuple[Annotated[float, PlainValidator(_percentage)], ...],
    array_of("an array of percentages"),
    AfterValidator(_ascending),
]
# Free-form names (components, issue types, people) to values, in file order.
NamedNumbers = Annotated[dict[str, PositiveNumber], IS_TABLE]
NamedMoney = Annotated[dict[str, Money], IS_TABLE]
NamedTexts = Annotated[dict[str, Text], IS_TABLE]
