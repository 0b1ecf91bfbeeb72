"""Rates: what an hour of one person on one project is billed, and what it costs us, on a day.

Precedence, the same for every caller (PRODUCT.md, "Rate"): the person's own rate
(`person_rates`), else the project's card for their role (`rates`), else the global `[rates]` for
their role, else the project's `default_rate`. A `[[projects.rate_changes]]` entry replaces the
roles it names from its `from` day on (in the project's zone), over both cards; later entries
replace earlier ones, and roles an entry does not name keep the rate they had.

Money is `Decimal` here. The mapping holds each amount as the Decimal written in the file (the
loader reads TOML floats as Decimal); `money` also takes a float a caller built by hand, by its
shortest form, so 85.1 is 85.1 and not 85.099999…. Nothing is rounded here: a price is rounded
once, where it is shown or stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from babel.numbers import get_currency_precision

from mappings.model import Mapping, NonBillable, Project, Rate
from reports.frames import map_distinct

RateSource = Literal["person", "change", "project", "global", "default"]
SECONDS_PER_HOUR = Decimal(3600)


def money(value: float | int | Decimal | None) -> Decimal | None:
    """An amount from the mapping as the Decimal that was written: 85.1 -> Decimal("85.1")."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    number = float(value)
    return Decimal(int(number)) if number.is_integer() else Decimal(repr(number))


@dataclass(frozen=True)
class HourRate:
    """An hour's billing rate and, when the mapping knows it, its cost; and where they came from."""

    billing: Decimal
    cost: Decimal | None
    source: RateSource
    name: str  # the person or role the rate is set for; "" for the default rate

    @classmethod
    def of(cls, rate: Rate, source: RateSource, name: str) -> HourRate:
        billing = money(rate.billing)
        assert billing is not None
        return cls(billing, money(rate.cost), source, name)

    @property
    def margin(self) -> Decimal | None:
        """Billing minus cost per hour: internal, never in a client's text."""
        return None if self.cost is None else self.billing - self.cost


def role_card(project: Project, day: date | None) -> dict[str, tuple[Rate, RateSource]]:
    """The project's rates by role on `day`: its card with the rate changes in force then.

    `day` None means before any change: the card as first agreed.
    """
    card: dict[str, tuple[Rate, RateSource]] = {role: (r, "project") for role, r in project.rates}
    if day is not None:
        for change in project.rate_changes:  # ascending by start (the mapping checks it)
            if change.start > day:
                break
            card.update({role: (r, "change") for role, r in change.rates})
    return card


def rate_on(mapping: Mapping, project: Project, person: str | None, day: date | None) -> HourRate:
    """The rate of `person` on `project` in force on `day` (a local day of the project's zone)."""
    own = dict(project.person_rates).get(person or "") if person else None
    if own is not None:
        return HourRate.of(own, "person", person or "")
    role = mapping.role_by_person.get(person or "")
    if role is not None:
        on_card = role_card(project, day).get(role)
        if on_card is not None:
            return HourRate.of(on_card[0], on_card[1], role)
        global_rate = dict(mapping.rates).get(role)
        if global_rate is not None:
            return HourRate.of(global_rate, "global", role)
    return HourRate.of(Rate(project.default_rate), "default", "")


def minor_units(currency: str) -> int:
    """The currency's own exponent: 2 for EUR, 0 for JPY, 3 for BHD (Babel's CLDR data)."""
    return int(get_currency_precision(currency))


def local_day(at: datetime, project: Project) -> date:
    """The day `at` falls on in the project's zone: the day whose rates apply."""
    return at.astimezone(ZoneInfo(project.digest.tz)).date()


def change_days(project: Project) -> tuple[date, ...]:
    """The days a rate changes on: work is priced in pieces that never straddle one."""
    return tuple(change.start for change in project.rate_changes)


def hours_cost(seconds: int, rate: Decimal) -> Decimal:
    """Exact money for `seconds` of work at an hourly `rate` (rounded only when shown)."""
    return Decimal(seconds) * rate / SECONDS_PER_HOUR


@dataclass(frozen=True)
class RateRow:
    """One line of the resolved rate table `mappings check` prints."""

    project: str
    who: str  # a role, or a person's Jira id
    source: RateSource
    start: date | None  # None: from the beginning
    billing: Decimal
    cost: Decimal | None


def rate_table(mapping: Mapping, project: Project) -> list[RateRow]:
    """Every rate the project can use, by role and person, with the days it changes on."""
    rows: list[RateRow] = []
    card = dict(project.rates)
    for role, global_rate in mapping.rates:
        if role not in card:
            rows.append(_row(project, role, global_rate, "global", None))
    rows += [_row(project, role, r, "project", None) for role, r in project.rates]
    for change in project.rate_changes:
        rows += [_row(project, role, r, "change", change.start) for role, r in change.rates]
    rows += [_row(project, who, r, "person", None) for who, r in project.person_rates]
    rows.append(_row(project, "(default)", Rate(project.default_rate), "default", None))
    return rows


def _row(project: Project, who: str, rate: Rate, source: RateSource, start: date | None) -> RateRow:
    hour = HourRate.of(rate, source, who)
    return RateRow(project.key, who, source, start, hour.billing, hour.cost)


def show_rate_table(mapping: Mapping) -> list[str]:
    """The resolved rate table as text lines: project, who, from, billing, cost, source."""
    lines = []
    for project in mapping.projects:
        lines.append(f"{project.key} ({project.currency}), hourly:")
        for row in rate_table(mapping, project):
            since = f"from {row.start.isoformat()}" if row.start else "from the start"
            cost = f"cost {row.cost}" if row.cost is not None else "no cost rate"
            lines.append(
                f"  {row.who:<26} {since:<20} billing {row.billing:<8} {cost:<14} ({row.source})"
            )
    return lines


def non_billable_mask(worklogs: pd.DataFrame, rule: NonBillable) -> pd.Series:
    """True for worklog rows the client is not billed for: the issue's type, one of its labels
    or one of its components is marked `non_billable`. Tracked in hours and cost all the same.
    """
    mask = pd.Series(False, index=worklogs.index)
    if worklogs.empty:
        return mask
    for column, names in (("components", rule.components), ("labels", rule.labels)):
        if names and column in worklogs:
            mask |= map_distinct(worklogs[column], _any_of(set(names)))
    if rule.types and "issue_type" in worklogs:
        mask |= worklogs["issue_type"].astype(object).isin(rule.types)
    return mask.astype(bool)


def _any_of(marked: set[str]) -> Callable[[Any], bool]:
    return lambda values: bool(marked & set(values or ()))
