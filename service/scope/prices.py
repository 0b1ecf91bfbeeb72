"""The `scope_prices` table: the rates each impact version of a scope change was priced at.

A change is priced at the rates in force on the day it is priced. Those stay its rates: an event
that changes its hours re-prices the hours at the same rate, and only a new assignee or
`scope reprice` takes today's rates (PRODUCT.md: re-pricing is explicit). Approved changes keep
the price the client agreed and are never re-priced. The only code that writes the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from reports.rates import HourRate
from service.scope.pricing import Impact
from service.store import schema

_p = schema.scope_prices.c


@dataclass(frozen=True)
class Priced:
    """One impact version's rates, as recorded."""

    impact_version: int
    priced_at: datetime
    priced_on: date
    assignee: str | None
    rate: HourRate
    hours: float | None
    cost: Decimal | None


def record_price(
    conn: Connection,
    change_id: int,
    version: int,
    impact: Impact,
    *,
    assignee: str | None,
    priced_at: datetime,
    priced_on: date,
) -> None:
    """What version `version` of the change was priced at (replacing an earlier record of it)."""
    rate = impact.hour_rate
    if rate is None:
        return  # read back from the row, not priced here: nothing new to record
    conn.execute(
        delete(schema.scope_prices).where(
            _p.scope_change_id == change_id, _p.impact_version == version
        )
    )
    conn.execute(
        insert(schema.scope_prices).values(
            scope_change_id=change_id,
            impact_version=version,
            priced_at=priced_at,
            priced_on=priced_on,
            assignee=assignee,
            rate=str(rate.billing),
            cost_rate=None if rate.cost is None else str(rate.cost),
            rate_source=rate.source,
            hours=impact.hours,
            cost=None if impact.cost is None else _decimal_text(impact.cost),
        )
    )


def latest_price(conn: Connection, change_id: int) -> Priced | None:
    """The newest recorded version's rates; None for a change priced before they were kept."""
    row = (
        conn.execute(
            select(schema.scope_prices)
            .where(_p.scope_change_id == change_id)
            .order_by(_p.impact_version.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else _priced(row)


def price_history(conn: Connection, change_id: int) -> list[Priced]:
    """Every recorded version of the change's price, oldest first."""
    rows = conn.execute(
        select(schema.scope_prices)
        .where(_p.scope_change_id == change_id)
        .order_by(_p.impact_version)
    ).mappings()
    return [_priced(row) for row in rows]


def _priced(row: Any) -> Priced:
    cost_rate = row["cost_rate"]
    return Priced(
        impact_version=int(row["impact_version"]),
        priced_at=row["priced_at"],
        priced_on=row["priced_on"],
        assignee=row["assignee"],
        rate=HourRate(
            billing=Decimal(row["rate"]),
            cost=None if cost_rate is None else Decimal(cost_rate),
            source=row["rate_source"],
            name=row["assignee"] or "",
        ),
        hours=row["hours"],
        cost=None if row["cost"] is None else Decimal(row["cost"]),
    )


def _decimal_text(amount: float) -> str:
    return str(Decimal(repr(amount)))
