"""A project's money as the agency sees it, for `project status` and the cockpit (never the
client): the contract, the burn, the alerts sent, the forecast, the work not billed, and the cost
and margin of the work.

`money_status` reads (one call for the PM's views to show; `reports` computes every figure);
`money_facts` words it, once, for both the command line and the cockpit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from mappings.model import Mapping
from reports import formats
from reports.alerts import CLIENT_COPY, FORECAST, budget_key
from reports.budget import calculate_budget, exact, non_billable_summary
from reports.contracts import internal_burn, split_days
from reports.digest import build_digest
from reports.exchange import ProjectAmounts, Total, total_in
from reports.period import period_for, week_name
from reports.rates import change_days, local_day
from service.digest.load import load_frames
from service.store import schema
from service.store.engine import reader

CONTRACT_NAMES = {
    "time_and_materials": "time and materials (the budget is a cap)",
    "fixed_price": "fixed price",
    "retainer": "retainer",
}


def money_status(engine: Engine, mapping: Mapping, project_key: str, now: datetime) -> dict:
    """The PM's money figures of the week holding `now`, plain numbers (money unrounded).

    The week, the burn and the forecast are those the budget alerts are computed from.
    """
    project = mapping.project(project_key)
    if project is None:
        raise ValueError(f"{mapping.source}: no project {project_key!r} in the mapping")
    week = week_name(local_day(now, project))
    period = period_for(week, project.digest.tz)
    nb = project.non_billable
    a = schema.budget_alerts.c
    with reader(engine) as conn:
        frames = load_frames(
            conn, project.key, period.end_utc, tz=project.digest.tz,
            splits=change_days(project) + split_days(project, period.last_day),
            by_type_and_label=bool(nb.types or nb.labels),
        )  # fmt: skip
        sent = conn.execute(
            select(a.threshold, a.budget, a.burn_pct, a.first_sent_at, a.last_sent_at, a.sends)
            .where(a.project_key == project.key)
            .order_by(a.first_sent_at, a.threshold)
        ).mappings()
        rows: list[dict[str, Any]] = [dict(row) for row in sent]
    budget = calculate_budget(frames, mapping, project, period)
    eac = build_digest(frames, mapping, project.key, week)["budget"]["evm"]["eac"]
    client = [r for r in rows if r["threshold"].startswith(CLIENT_COPY)]
    return {
        "project": project.key,
        "contract": project.contract,
        "currency": project.currency,
        "total": budget["total"],
        "spent": budget["spent"],
        "burn_pct": budget["burn_pct"],
        "eac": eac,
        "non_billable": non_billable_summary(frames, mapping, project, period),
        "internal": internal_burn(frames, mapping, project, period, budget),
        "alerts_sent": [r for r in rows if r not in client],
        "client_alerts_sent": client,
        "budget_key": budget_key(budget["total"]),
    }


def money_facts(status: dict[str, Any]) -> list[tuple[str, str]]:
    """The status as (label, text) lines, in the PM's words: for the agency's eyes only."""

    def m(amount: Any) -> str:
        return formats.money(amount, status["currency"])

    pct = status["burn_pct"]
    used = f"{m(status['spent'])} of {m(status['total'])}"
    used += f" ({formats.percent(pct)})" if pct is not None else ""
    facts = [
        ("Contract", CONTRACT_NAMES.get(status["contract"], status["contract"])),
        ("Budget used", used),
        ("Alerts sent", _alerts_text(status["alerts_sent"], status["budget_key"])),
    ]
    if status["client_alerts_sent"]:
        facts.append(
            ("Client notified", _alerts_text(status["client_alerts_sent"], status["budget_key"]))
        )
    facts.append(("Forecast overrun", _overrun_text(status, m)))
    facts.append(("Margin", _margin_text(status["internal"], m)))
    nb = status["non_billable"]
    if nb["hours"]:
        facts.append(("Not billed", f"{formats.hours(nb['hours'])}, worth {m(nb['value'])}"))
    return facts


def _alerts_text(rows: list[dict[str, Any]], current_budget: str) -> str:
    """Which thresholds were crossed of the current budget, when, and the last weekly repeat."""
    current = [r for r in rows if r["budget"] == current_budget]
    if not current:
        earlier = " (all of an earlier budget)" if rows else ""
        return f"none{earlier}"
    parts = []
    for row in sorted(current, key=_in_order):
        name = row["threshold"].removeprefix(CLIENT_COPY)
        what = "forecast overrun" if name == FORECAST else f"{name}%"
        part = f"{what} on {_when(row['first_sent_at'])}"
        if row["sends"] > 1:
            part += f", repeated {row['sends'] - 1}×, last on {_when(row['last_sent_at'])}"
        parts.append(part)
    return "; ".join(parts)


def _in_order(row: dict[str, Any]) -> tuple[datetime, float]:
    """When first sent, then the lower threshold first ("90" before "100"; the forecast last)."""
    name = row["threshold"].removeprefix(CLIENT_COPY)
    return row["first_sent_at"], float(name) if name != FORECAST else float("inf")


def _overrun_text(status: dict[str, Any], m: Any) -> str:
    eac, total = status["eac"], status["total"]
    if eac is None:
        return "no forecast yet"
    if eac > total:
        return f"expected final cost {m(eac)}, {m(eac - total)} over the budget"
    return f"none (expected final cost {m(eac)})"


def _margin_text(internal: dict[str, Any], m: Any) -> str:
    if internal["margin"] is None:
        return "unknown: some hours have no cost rate"
    return f"{m(internal['margin'])} (billed {m(internal['revenue'])}, cost {m(internal['cost'])})"


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def money_total(
    mapping: Mapping, statuses: Sequence[dict[str, Any]], currency: str, on: date
) -> Total:
    """The projects' budget, spent and forecast in one `currency`, at the mapping's exchange
    rates in force `on` (`reports.exchange`)."""
    amounts = [
        ProjectAmounts(
            s["project"],
            s["currency"],
            exact(s["total"]),
            exact(s["spent"]),
            None if s["eac"] is None else exact(s["eac"]),
        )  # fmt: skip
        for s in statuses
    ]
    return total_in(amounts, currency, mapping.exchange_rates, on)


def total_facts(total: Total) -> list[tuple[str, str]]:
    """The total as (label, text) lines; a total that cannot be made says why and what to add."""
    on = total.on.isoformat()
    if total.missing:
        return [
            (
                f"No total in {total.currency}",
                f"no exchange rate into {total.currency} in force on {on} for "
                f"{', '.join(total.missing)}; add one to [[exchange_rates]] in the mapping",
            )
        ]

    def m(amount: Any) -> str:
        return formats.money(amount, total.currency)

    forecast = (
        m(total.forecast)
        if total.forecast is not None
        else f"unknown: no forecast yet for {', '.join(total.no_forecast)}"
    )
    rates = "; ".join(
        f"1 {r.currency} = {r.rate} {r.to} (rate of {r.start.isoformat()})" for r in total.used
    )
    return [
        ("Budget", m(total.budget)),
        ("Spent", m(total.spent)),
        ("Forecast", forecast),
        ("Rates", rates or f"none needed, all in {total.currency}"),
    ]
