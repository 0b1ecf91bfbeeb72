"""Earned value: is the money buying the planned work, and at the planned pace?

BAC is the budget with approved changes. PV is linear from the project's start to its end: fix
versions could give a stepped plan, but their dates move and rarely carry a share of the budget,
so a straight line is the plan we can defend to a client. EV is the done share of the planned
hours (baseline plus approved changes) times BAC; AC is what was spent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

import pandas as pd

from mappings.model import Project
from reports import formats, i18n
from reports.i18n import N_
from reports.period import Period, zone

# How a currency is named in a sentence; others are named by their code.
CURRENCY_WORDS = {
    "EUR": (N_("euro"), N_("euros")),
    "USD": (N_("dollar"), N_("dollars")),
    "GBP": (N_("pound"), N_("pounds")),
    "CHF": (N_("franc"), N_("francs")),
}


def project_span(project: Project, tz: str) -> tuple[datetime, datetime]:
    """The plan runs from the start date's first moment to the end date's last (end inclusive)."""
    local = zone(tz)
    start = datetime.combine(project.start, time(0), tzinfo=local)
    end = datetime.combine(project.end + timedelta(days=1), time(0), tzinfo=local)
    return start, end


def planned_share(project: Project, tz: str, at: datetime) -> float:
    """The share of the work planned to be done by `at`: 0 before the start, 1 after the end."""
    start, end = project_span(project, tz)
    span = (end - start).total_seconds()
    if span <= 0:
        return 1.0
    return min(max((at - start).total_seconds() / span, 0.0), 1.0)


def earned_share(plan_hours: pd.Series, done: pd.Series) -> float:
    """Done hours / planned hours; `plan_hours` and `done` are indexed by issue id.

    Unpriced issues weigh nothing: their size is unknown, so they can neither earn nor hold
    back value. A planned issue we no longer see (deleted, moved out) is not done.
    """
    hours = plan_hours.fillna(0)
    total = float(hours.sum())
    if total <= 0:
        return 0.0
    finished = done.reindex(hours.index, fill_value=False).astype(bool)
    return float(hours[finished].sum()) / total


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def calculate_evm(
    state: pd.DataFrame,
    project: Project,
    period: Period,
    *,
    bac: float,
    ac: float,
    plan_hours: pd.Series,
    locale: str = formats.DEFAULT_LOCALE,
) -> dict[str, Any]:
    """EVM as of the period's end. `state` is `timeline.issue_state` (its `done` column);
    `plan_hours` the planned hours by issue id: baseline plus approved changes. `locale` is the
    one the explanations' figures are written in.
    """
    pv = bac * planned_share(project, period.tz, period.end)
    ev = bac * earned_share(plan_hours, state["done"])
    cpi = _ratio(ev, ac)
    eac = bac / cpi if cpi else None
    figures = {
        "bac": bac,
        "pv": pv,
        "ev": ev,
        "ac": ac,
        "cpi": cpi,
        "spi": _ratio(ev, pv),
        "eac": eac,
        "etc": None if eac is None else eac - ac,
        "vac": None if eac is None else bac - eac,
    }
    sentences = explain(figures, project.currency, locale)
    return {**figures, "explain": {**sentences, **_contract_words(figures, project, locale)}}


def _contract_words(f: dict[str, Any], project: Project, locale: str) -> dict[str, str]:
    """The sentences a fixed price or a retainer says differently from a capped budget."""
    m = partial(formats.money, currency=project.currency, locale=locale)
    t = i18n.texts(locale)
    if project.contract == "fixed_price":
        eac = f["eac"]
        return {
            "bac": t._(
                "The fixed price, including approved change requests, is %(bac)s.", bac=m(f["bac"])
            ),
            "ac": t._("Work worth %(ac)s at the agreed rates has been done so far.", ac=m(f["ac"])),
            "eac": (
                t._(
                    "At the efficiency so far, the whole scope takes work worth %(eac)s; the "
                    "price stays %(bac)s.",
                    eac=m(eac),
                    bac=m(f["bac"]),
                )
                if eac is not None
                else t._(
                    "The work the whole scope takes cannot be forecast yet; the price stays "
                    "%(bac)s.",
                    bac=m(f["bac"]),
                )
            ),
        }
    if project.contract == "retainer":
        return {
            "bac": t._(
                "The retainer's budget for the term, including approved changes, is %(bac)s.",
                bac=m(f["bac"]),
            ),
        }
    return {}


def explain(
    f: dict[str, Any], currency: str, locale: str = formats.DEFAULT_LOCALE
) -> dict[str, str]:
    """One plain sentence per figure, with the figures rounded as the digest shows them."""
    t = i18n.texts(locale)
    one, many = (t._(word) for word in CURRENCY_WORDS.get(currency, (currency, currency)))
    m = partial(formats.money, currency=currency, locale=locale)
    cpi, spi, eac = f["cpi"], f["spi"], f["eac"]
    return {
        "bac": t._("The budget, including approved changes, is %(bac)s.", bac=m(f["bac"])),
        "pv": t._(
            "By the end of this week, %(pv)s worth of work was planned to be done.", pv=m(f["pv"])
        ),
        "ev": t._("Work worth %(ev)s of the plan has been delivered.", ev=m(f["ev"])),
        "ac": t._("%(ac)s has been spent so far.", ac=m(f["ac"])),
        "cpi": (
            t._(
                "For every %(one)s spent, %(cpi)s %(many)s of planned work was delivered.",
                one=one,
                cpi=formats.number(cpi, locale, 2),
                many=many,
            )
            if cpi is not None
            else t._("Cost efficiency cannot be measured yet: nothing has been spent.")
        ),
        "spi": (
            t._(
                "Work is being delivered at %(spi)s times the planned pace.",
                spi=formats.number(spi, locale, 2),
            )
            if spi is not None
            else t._("Schedule efficiency cannot be measured yet: no work was planned by now.")
        ),
        "eac": (
            t._("At the cost efficiency so far, the whole project will cost %(eac)s.", eac=m(eac))
            if eac is not None
            else t._(
                "The final cost cannot be forecast until delivered work can be compared with "
                "spending."
            )
        ),
        "etc": (
            t._("Finishing the remaining work is expected to cost %(etc)s more.", etc=m(f["etc"]))
            if f["etc"] is not None
            else t._("The cost of the remaining work cannot be forecast yet.")
        ),
        "vac": _explain_vac(f["vac"], m, t),
    }


def _explain_vac(vac: float | None, m: Callable[[float], str], t: i18n.Texts) -> str:
    if vac is None:
        return t._("Whether the project will end over or under budget cannot be forecast yet.")
    if round(vac, 2) == 0:
        return t._("The project is forecast to end exactly on budget.")
    if vac > 0:
        return t._("The project is forecast to end %(gap)s under budget.", gap=m(vac))
    return t._("The project is forecast to end %(gap)s over budget.", gap=m(-vac))
