"""One total of several projects in one currency, converted with the mapping's dated
`[[exchange_rates]]`: only where the PM asks for it, since each project's own figures stay in its
own currency everywhere else.

A rate is in force from its `from` day until the pair's next entry; an amount is converted at the
rate in force on the as-of day. Only the pair as written is used (USD -> EUR does not give
EUR -> USD: an inverse would be a rounded guess nobody agreed to). A project whose currency has
no rate in force gets no share of a wrong sum: the total names what is missing instead. The
converted amounts are summed exactly and rounded half-up once, at the end, to the target
currency's own minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mappings.model import ExchangeRate
from reports.formats import half_up
from reports.rates import minor_units


@dataclass(frozen=True)
class ProjectAmounts:
    """A project's figures in its own currency; `forecast` None when it has none yet."""

    project: str
    currency: str
    budget: Decimal
    spent: Decimal
    forecast: Decimal | None


@dataclass(frozen=True)
class Total:
    """The converted total, or why there is none (`missing`: "BETA (USD)", one a project)."""

    currency: str
    on: date
    budget: Decimal | None
    spent: Decimal | None
    forecast: Decimal | None  # None also when some project has no forecast yet
    used: tuple[ExchangeRate, ...]  # the rates converted with, one a currency
    missing: tuple[str, ...]
    no_forecast: tuple[str, ...]


def rate_in_force(
    rates: Sequence[ExchangeRate], currency: str, to: str, on: date
) -> ExchangeRate | None:
    """The entry for `currency` -> `to` in force on `on`: the latest that starts on it or before."""
    found = None
    for rate in rates:
        if rate.currency == currency and rate.to == to and rate.start <= on:
            if found is None or rate.start > found.start:
                found = rate
    return found


def total_in(
    projects: Sequence[ProjectAmounts], to: str, rates: Sequence[ExchangeRate], on: date
) -> Total:
    """`projects` summed in `to` at the rates in force `on`."""
    used: dict[str, ExchangeRate] = {}
    for currency in {p.currency for p in projects} - {to}:
        rate = rate_in_force(rates, currency, to, on)
        if rate is not None:
            used[currency] = rate
    missing = tuple(
        f"{p.project} ({p.currency})" for p in projects if p.currency not in (to, *used)
    )
    if missing:
        return Total(to, on, None, None, None, tuple(used.values()), missing, ())

    def factor(p: ProjectAmounts) -> Decimal:
        return Decimal(1) if p.currency == to else used[p.currency].rate

    def rounded(amounts: list[Decimal]) -> Decimal:
        return half_up(sum(amounts, Decimal(0)), minor_units(to))

    no_forecast = tuple(p.project for p in projects if p.forecast is None)
    forecast = None
    if not no_forecast:
        forecast = rounded([(p.forecast or Decimal(0)) * factor(p) for p in projects])
    return Total(
        to,
        on,
        budget=rounded([p.budget * factor(p) for p in projects]),
        spent=rounded([p.spent * factor(p) for p in projects]),
        forecast=forecast,
        used=tuple(used[c] for c in sorted(used)),
        missing=(),
        no_forecast=no_forecast,
    )


def show_exchange_rates(rates: Sequence[ExchangeRate]) -> list[str]:
    """The exchange rate table as text lines, pair by pair, each rate with the day it starts."""
    if not rates:
        return []
    lines = ["Exchange rates (for a total in one currency):"]
    for rate in sorted(rates, key=lambda r: (r.currency, r.to, r.start)):
        lines.append(f"  1 {rate.currency} = {rate.rate} {rate.to}  from {rate.start.isoformat()}")
    return lines
