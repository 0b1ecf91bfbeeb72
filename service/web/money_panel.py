"""The cockpit's money panel: a project's contract, budget used, alerts crossed, forecast overrun
and margin, and one total of every project in a currency the PM picks.

For the agency's pages only (`/` and `/projects/KEY`, behind the login; viewers see them too, as
the page is the agency's): no client-facing page or mail may use it, since it shows the margin.
The figures and words are `service.alerts.status`'s, the same `project status` prints.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import is_currency

from service.alerts.status import money_facts, money_status, money_total, total_facts
from service.web.context import get_runtime


def project_money(key: str) -> dict[str, Any]:
    """{"facts": [(label, text), …], "status": …} or {"problem": why} for one project."""
    rt = get_runtime()
    try:
        status = money_status(rt.engine, rt.mapping, key, rt.clock())
    except ValueError as exc:
        return {"problem": str(exc).splitlines()[0]}
    return {"facts": money_facts(status), "status": status}


def money_overview(total_in: str | None) -> dict[str, Any]:
    """Every project's money panel, and the total in `total_in` when the PM asked for one (or
    in SCOPEWATCH_TOTAL_IN when the page names none)."""
    rt = get_runtime()
    panels = {p.key: project_money(p.key) for p in rt.mapping.projects}
    currencies = sorted(
        {p.currency for p in rt.mapping.projects} | {r.to for r in rt.mapping.exchange_rates}
    )
    overview: dict[str, Any] = {"projects": panels, "currencies": currencies, "total": None}
    # The PM's choice on the page, else the operator's default; "" is the PM choosing none.
    chosen = rt.settings.total_in if total_in is None else total_in
    code = (chosen or "").strip().upper()
    if not code:
        return overview
    if not is_currency(code):
        overview["total"] = {"currency": code, "problem": f"{code} is not a currency code"}
        return overview
    statuses = [panel["status"] for panel in panels.values() if "status" in panel]
    if len(statuses) < len(panels):
        problem = "the money of some project is unavailable, so there is no total"
        overview["total"] = {"currency": code, "problem": problem}
        return overview
    total = money_total(rt.mapping, statuses, code, rt.clock().date())
    facts = total_facts(total)
    if total.missing:
        overview["total"] = {"currency": code, "problem": facts[0][1]}
    else:
        overview["total"] = {"currency": code, "on": total.on, "facts": facts}
    return overview
