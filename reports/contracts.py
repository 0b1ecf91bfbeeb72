"""How the work is sold, and the burn each contract speaks of (`contract` in the mapping).

- `time_and_materials`: the budget is a cap; the burn is the billed work against it.
- `fixed_price`: the client pays the price (the budget) plus approved change requests, whatever
  the hours; what the client reads is the price and the delivered share of the planned work.
  The agency's own cost against the price (the margin) is for the PM only (`internal_burn`),
  never in the client's digest.
- `retainer`: an allowance of hours or money per calendar month (in the project's zone); unused
  allowance moves to the next month only with `carry_over`. The digest shows this month's use
  and the months before.

Pure: frames and the budget figures in, a section of the digest out. Non-billable work uses no
allowance and burns no cap.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from mappings.model import Mapping, Project
from reports import formats, i18n
from reports.budget import billable, exact, worklog_money
from reports.frames import Frames, utc
from reports.period import Period
from reports.rates import hours_cost, rate_on


def month_starts(project: Project, until: date) -> list[date]:
    """The first day of each calendar month from the project's start up to `until` (inclusive)."""
    months, day = [], project.start.replace(day=1)
    while day <= until:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def split_days(project: Project, until: date) -> tuple[date, ...]:
    """Days the loader must not sum across for this contract: a retainer's month starts."""
    if project.contract != "retainer":
        return ()
    return tuple(month_starts(project, until))


def calculate_contract(
    frames: Frames,
    mapping: Mapping,
    project: Project,
    period: Period,
    budget: dict[str, Any],
    *,
    delivered_share: float | None = None,
    locale: str = formats.DEFAULT_LOCALE,
) -> dict[str, Any]:
    """The contract's section of the digest: its type, its figures and one plain sentence."""
    m = _money_in(project, locale)
    t = i18n.texts(locale)
    if project.contract == "retainer":
        return _retainer(frames, mapping, project, period, locale)
    if project.contract == "fixed_price":
        price = budget["total"]
        extra = float(exact(price) - exact(project.budget))
        delivered = None if delivered_share is None else delivered_share * 100
        summary = (
            t._(
                "Fixed price %(price)s, including %(extra)s of approved change requests",
                price=m(price),
                extra=m(extra),
            )
            if extra > 0
            else t._("Fixed price %(price)s", price=m(price))
        )
        summary += (
            t._(
                "; %(pct)s of the planned work delivered.",
                pct=formats.percent(delivered, locale),
            )
            if delivered is not None
            else "."
        )
        return {
            "type": "fixed_price",
            "price": price,
            "change_requests": extra,
            "delivered": delivered,
            "summary": summary,
        }
    pct = formats.percent(budget["burn_pct"], locale) if budget["burn_pct"] is not None else None
    summary = t._(
        "%(spent)s of the %(cap)s cap billed", spent=m(budget["spent"]), cap=m(budget["total"])
    )
    summary += (
        t._(" (%(pct)s); %(left)s left.", pct=pct, left=m(budget["remaining"])) if pct else "."
    )
    return {"type": "time_and_materials", "summary": summary}


def _money_in(project: Project, locale: str) -> Any:
    return lambda amount: formats.money(amount, project.currency, locale)


def _retainer(
    frames: Frames, mapping: Mapping, project: Project, period: Period, locale: str
) -> dict[str, Any]:
    retainer = project.retainer
    assert retainer is not None  # the mapping requires it with this contract
    in_hours = retainer.hours_per_month is not None
    allowance = exact(retainer.hours_per_month or retainer.money_per_month or 0)
    last_day = period.last_day
    worklogs = frames.worklogs
    worklogs = worklogs[billable(worklogs, project) & (worklogs["started"] < utc(period.end_utc))]
    months = pd.Series(dtype=object)
    if not worklogs.empty:
        local = worklogs["started"].dt.tz_convert(project.digest.tz)
        months = local.dt.date.map(lambda d: d.replace(day=1))
    if in_hours:
        amounts = worklogs["seconds"].map(lambda s: Decimal(int(s)) / Decimal(3600))
    else:
        amounts = worklog_money(worklogs, mapping, project)
    used_by: dict[date, Decimal] = {}
    for month, amount in zip(months, amounts, strict=True):
        used_by[month] = used_by.get(month, Decimal(0)) + amount
    rows: list[dict[str, Any]] = []
    carried = Decimal(0)
    for month in month_starts(project, last_day):
        available = allowance + carried
        used = used_by.get(month, Decimal(0))
        left = available - used
        rows.append(
            {
                "month": month.strftime("%Y-%m"),
                "allowance": float(allowance),
                "carried_in": float(carried),
                "used": float(used),
                "left": float(left),
            }
        )
        carried = max(left, Decimal(0)) if retainer.carry_over else Decimal(0)
    this = rows[-1] if rows else None
    show = (
        (lambda v: formats.hours(v, locale))
        if in_hours
        else (lambda v: formats.money(v, project.currency, locale))
    )
    t = i18n.texts(locale)
    summary = t._("No month of the retainer has begun.")
    if this is not None:
        month_name = formats.date(date.fromisoformat(this["month"] + "-01"), locale, "month_year")
        summary = t._(
            "This month (%(month)s): %(used)s of %(available)s used",
            month=month_name,
            used=show(this["used"]),
            available=show(this["allowance"] + this["carried_in"]),
        )
        if this["carried_in"]:
            summary += t._(
                " (including %(carried)s carried over)", carried=show(this["carried_in"])
            )
        summary += (
            t._("; %(left)s left.", left=show(this["left"]))
            if this["left"] >= 0
            else t._("; %(over)s over the allowance.", over=show(-this["left"]))
        )
    return {
        "type": "retainer",
        "unit": "hours" if in_hours else "money",
        "carry_over": retainer.carry_over,
        "this_month": this,
        "months": rows[:-1][::-1],  # the months before, newest first
        "summary": summary,
    }


def internal_burn(
    frames: Frames, mapping: Mapping, project: Project, period: Period, budget: dict[str, Any]
) -> dict[str, Any]:
    """The agency's own figures, for the PM only: the cost of all logged work (billable or not)
    at the cost rates, against what the client pays (`budget.total` on a fixed price, the billed
    work otherwise), and the margin. `cost` is None when some hour has no cost rate: an unknown
    cost is never shown as a margin.
    """
    worklogs = frames.worklogs
    worklogs = worklogs[worklogs["started"] < utc(period.end_utc)] if len(worklogs) else worklogs
    cost: Decimal | None = Decimal(0)
    if len(worklogs):
        days = worklogs["started"].dt.tz_convert(project.digest.tz).dt.date
        for author, day, seconds in zip(worklogs["author"], days, worklogs["seconds"], strict=True):
            person = None if author is None or pd.isna(author) else str(author)
            rate = rate_on(mapping, project, person, day).cost
            cost = None if rate is None or cost is None else cost + hours_cost(int(seconds), rate)
    revenue = budget["total"] if project.contract == "fixed_price" else budget["spent"]
    return {
        "cost": None if cost is None else float(cost),
        "revenue": revenue,
        "margin": None if cost is None else revenue - float(cost),
        "cost_burn_pct": (
            None if cost is None or not budget["total"] else float(cost) / budget["total"] * 100
        ),
    }
