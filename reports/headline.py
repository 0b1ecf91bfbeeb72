"""The headline: the three things a client must know, bad news first, and a status colour.

Every figure here is read from a section the digest already computed (the budget, its EVM, the
forecast, the scope's pending decisions, the blockers): the headline repeats them, it never
computes its own. The status rules are documented in docs/digest-status.md; change both together.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd

ON_TRACK, AT_RISK, OFF_TRACK = "on track", "at risk", "off track"
# Forecast cost above the budget by more than this share, or a finish more than this many days
# after the planned end, is off track; any overrun at all is at risk.
OFF_TRACK_COST_SHARE = 0.10
OFF_TRACK_LATE_DAYS = 14
# Something waiting on the client for longer than this puts the project at risk.
CLIENT_WAIT_ALARM_DAYS = 7


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def status_of(
    *,
    budget: float,
    forecast_cost: float | None,
    planned_end: date,
    forecast_finish: date | None,
    beyond_horizon: bool,
    oldest_client_wait_days: int | None,
    over_allowance: bool = False,
) -> tuple[str, list[str]]:
    """The status and the reasons for it (codes, most serious first; empty when on track)."""
    off: list[str] = []
    risk: list[str] = []
    if over_allowance:
        risk.append("over_allowance")
    if _known(forecast_cost) and forecast_cost is not None and forecast_cost > budget:
        over = forecast_cost - budget
        (off if over > OFF_TRACK_COST_SHARE * budget else risk).append("cost_over_budget")
    if beyond_horizon:
        off.append("finish_after_plan")
    elif forecast_finish is not None and forecast_finish > planned_end:
        late = (forecast_finish - planned_end).days
        (off if late > OFF_TRACK_LATE_DAYS else risk).append("finish_after_plan")
    if oldest_client_wait_days is not None and oldest_client_wait_days > CLIENT_WAIT_ALARM_DAYS:
        risk.append("client_waiting")
    if off:
        return OFF_TRACK, off + risk
    return (AT_RISK, risk) if risk else (ON_TRACK, [])


def calculate_headline(
    budget: dict[str, Any],
    scope: dict[str, Any],
    timeline: dict[str, Any],
    blockers: list[dict[str, Any]],
) -> dict[str, Any]:
    """The headline's figures, each read from its section (the ages of the decisions awaited
    are the ones `scope.awaiting_decision` lists)."""
    changes = scope["changes_this_week"]
    burn = budget["burn_pct"]
    forecast = timeline["forecast"]
    finish = forecast["p85"]
    end: date = timeline["end"]
    on_client = [b for b in blockers if b["waiting_on"] == "client"]
    waits = [b["age_days"] for b in on_client if b["age_days"] is not None]
    waits += [c["age_days"] for c in scope["awaiting_decision"] if c["age_days"] is not None]
    eac = budget["evm"]["eac"]
    contract = budget.get("contract") or {}
    kind = contract.get("type", "time_and_materials")
    this_month = contract.get("this_month") or {}
    beyond = finish is None and str(forecast.get("reason") or "").startswith("beyond")
    status, reasons = status_of(
        budget=budget["total"],
        # On a fixed price the client pays the price whatever the hours: an overrun of the
        # agency's own effort is the PM's news (the margin), not the client's.
        forecast_cost=None if kind == "fixed_price" else eac,
        planned_end=end,
        forecast_finish=finish,
        beyond_horizon=beyond,
        oldest_client_wait_days=max(waits) if waits else None,
        over_allowance=kind == "retainer" and (this_month.get("left") or 0) < 0,
    )
    return {
        "contract": kind,
        "status": status,
        "status_reasons": reasons,
        "spent_pct": int(round(burn)) if burn is not None else 0,
        "spent": budget["spent"],
        "budget": budget["total"],
        "forecast_cost": eac,
        "planned_end": end,
        "forecast_finish": finish,
        "finish_late_days": (finish - end).days if finish is not None else None,
        "decisions_waiting": scope["pending"]["count"],
        "decisions_cost": scope["pending"]["cost"],
        "changes_count": len(changes),
        "changes_cost": float(sum(c["cost"] for c in changes if not pd.isna(c["cost"]))),
        "blockers_on_client": len(on_client),
    }
