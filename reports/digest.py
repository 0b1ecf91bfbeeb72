"""The digest runner: the calculations in a declared order, and the JSON the renderers read.

`build_digest` is pure (frames in, dict out); `digest_for` adds the database read. Numbers are
kept exact through the calculations and rounded once, here, by the key they appear under
(`NUMBER_FORMATS`): money to cents, hours to 0.1. Dates and times become ISO 8601 strings, times in
the project's digest zone. Text is left as written (escaping is the renderer's job).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, tzinfo
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from mappings.model import Mapping, Project
from reports import formats
from reports.blockers import calculate_blockers
from reports.budget import calculate_budget, calculate_series
from reports.contracts import calculate_contract
from reports.evm import calculate_evm
from reports.forecast import calculate_forecast, open_hours, p85_date
from reports.frames import Frames, utc
from reports.headline import calculate_headline
from reports.period import Period, period_for, zone
from reports.risks import calculate_questions, calculate_risks
from reports.scope import calculate_scope, current_hours_series, scope_hours
from reports.timeline import (
    calculate_milestones,
    calculate_transitions,
    hours_in_milestones,
    issue_state,
)

FEEDBACK_TREND_WEEKS = 6


def _money(x: float) -> float:
    # Half-up from the amount as written (2.675 -> 2.68), as every text shows it; round() is not.
    return float(formats.half_up(x, 2)) + 0.0  # + 0.0 turns -0.0 into 0.0


def _tenth(x: float) -> float:
    return round(x, 1) + 0.0


def _hundredth(x: float) -> float:
    return round(x, 2) + 0.0


NUMBER_FORMATS: dict[str, Callable[[float], float]] = {
    **dict.fromkeys(
        ["total", "spent", "spent_this_week", "remaining", "budget", "cost", "bac", "pv", "ev",
         "ac", "eac", "etc", "vac", "changes_cost", "spent_cum", "planned_cum", "budget_total",
         "forecast_cost", "decisions_cost"],
        _money,
    ),
    **dict.fromkeys(
        ["hours", "baseline_hours", "current_hours", "from_hours", "to_hours",
         "rejected_hours_logged", "raised_hours", "removed_hours", "unscheduled_hours"],
        _tenth,
    ),
    **dict.fromkeys(["burn_pct", "schedule_days", "trend"], _tenth),
    **dict.fromkeys(["cpi", "spi"], _hundredth),
    # the contract's section (reports.contracts): a retainer's hours or money, a fixed price
    **dict.fromkeys(
        ["allowance", "used", "carried_in", "left", "price", "change_requests"], _money
    ),
    "delivered": _tenth,
}  # fmt: skip


def calculate_feedback(frames: Frames, period: Period, link: str | None) -> dict[str, Any]:
    """The newest answer given before the period's end, and the mean score of recent weeks."""
    answers = frames.feedback[frames.feedback["at"] < utc(period.end_utc)].sort_values("at")
    last = None
    if len(answers):
        a = answers.iloc[-1]
        comment = None if pd.isna(a["comment"]) else a["comment"]
        last = {"happy": bool(a["happy"]), "score": int(a["score"]), "comment": comment,
                "at": a["at"]}  # fmt: skip
    by_week = answers.groupby("week", sort=True)["score"].mean()
    return {"link": link, "last": last, "trend": by_week.tail(FEEDBACK_TREND_WEEKS).tolist()}


def _by_issue(values: pd.Series, issue_ids: pd.Series) -> pd.Series:
    return pd.Series(values.to_numpy(), index=issue_ids.to_numpy())


def _project(mapping: Mapping, project_key: str) -> Project:
    project = mapping.project(project_key)
    if project is None:
        raise ValueError(f"{mapping.source}: no project {project_key!r} in the mapping")
    return project


def build_digest(
    frames: Frames,
    mapping: Mapping,
    project_key: str,
    week: str,
    *,
    rng_seed: int = 7,
    feedback_link: str | None = None,
    locale: str = formats.DEFAULT_LOCALE,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The digest of one project and ISO week. `locale` is the one its sentences (EVM
    explanations, risks) are written in; it is kept under "locale" so the renderers show the
    tables in the same one. `as_of` is the moment a mid-week preview is built ("now"): ages are
    measured to it when it comes before the period's end."""
    project = _project(mapping, project_key)
    period = replace(period_for(week, project.digest.tz), now=as_of)
    end = utc(period.end_utc)

    # 1. Where everything stood at the period's end; every calculation below reads these. The
    # scope's hours are computed once (`ScopeHours`): the scope section, EVM's plan, the finish
    # forecast and the milestones all read them, so their figures cannot disagree.
    state = issue_state(frames, mapping.statuses, end)
    hours = scope_hours(frames, project, mapping, end)
    changes = hours.changes

    # 2. Money and scope.
    budget = calculate_budget(frames, mapping, project, period)
    scope = calculate_scope(frames, mapping, project, period, hours)
    budget["evm"] = calculate_evm(
        state, project, period, bac=budget["total"], ac=budget["spent"], plan_hours=hours.plan(),
        locale=locale,
    )  # fmt: skip
    bac, ev = budget["evm"]["bac"], budget["evm"]["ev"]
    budget["contract"] = calculate_contract(
        frames, mapping, project, period, budget, delivered_share=ev / bac if bac > 0 else None,
        locale=locale,
    )  # fmt: skip

    # 3. Time: the forecast draws from the generator first, then the milestones.
    in_scope = hours.now()
    new = changes[(changes["born"] >= utc(period.start_utc)) & (changes["decision"] != "rejected")]
    forecast, simulation = calculate_forecast(
        state, in_scope, new["issue_id"].tolist(), project, period,
        np.random.default_rng(rng_seed),
    )  # fmt: skip
    milestones = calculate_milestones(
        frames, state, in_scope, period, partial(p85_date, simulation, period)
    )
    # The last milestone's forecast is the project's unless open work belongs to no milestone.
    open_total = float(open_hours(state, in_scope).sum())
    forecast["unscheduled_hours"] = (
        open_total - hours_in_milestones(frames, state, in_scope) if milestones else None
    )

    # 4. What needs attention.
    blockers = calculate_blockers(frames, state, mapping.statuses, period)
    risks = calculate_risks(
        state, project, period, cpi=budget["evm"]["cpi"], runway=budget["runway_date"],
        blockers=blockers, changes=changes, locale=locale,
    )  # fmt: skip
    series = calculate_series(frames, mapping, project, period, scope["baseline_hours"])
    series["current_hours"] = current_hours_series(
        hours, frames, [utc(period_for(w, period.tz).end_utc) for w in series["weeks"]]
    )

    timeline = {
        "start": project.start,
        "end": project.end,
        "forecast": forecast,
        "milestones": milestones,
    }
    digest = {
        "project": project.key,
        "client": project.client,
        "week": period.week,
        # as_of: what ages are measured to, the end or "now" for a mid-week preview
        "period": {"start": period.start, "end": period.end, "as_of": period.as_of_utc},
        "currency": project.currency,
        "locale": locale,
        # the sections the mapping sends the client (`client_sections`); the PM gets every one
        "client_sections": list(project.client_sections),
        "budget": budget,
        "scope": scope,
        "timeline": timeline,
        "blockers": blockers,
        "transitions": calculate_transitions(frames, period),
        "risks": risks,
        "questions": calculate_questions(state, period),
        "feedback": calculate_feedback(frames, period, feedback_link),
        "headline": calculate_headline(budget, scope, timeline, blockers),
        "series": series,
    }
    return finalize(digest, period.tz)


def finalize(value: Any, tz: str, key: str = "") -> Any:
    """JSON-ready: builtin types only, numbers rounded by `NUMBER_FORMATS`, no NaN (null)."""
    return _Finalizer(zone(tz)).convert(value, key)


class _Finalizer:
    """`finalize` for one zone. A big digest holds tens of thousands of values (a blocker list
    of thousands of rows), so the builtin types are dispatched on their exact type first; every
    other type (numpy scalars, subclasses) takes the general rules in `_scalar`.
    """

    def __init__(self, local: tzinfo) -> None:
        self._local = local
        self._exact: dict[type, Callable[[Any, str], Any]] = {
            dict: self._dict,
            list: self._list,
            tuple: self._list,
            str: _same,
            type(None): _same,
            bool: _same,
            int: _int,
            float: _float,
            pd.Timestamp: self._time,
            datetime: self._time,
        }

    def convert(self, value: Any, key: str) -> Any:
        exact = self._exact.get(type(value))
        return exact(value, key) if exact else self._scalar(value, key)

    def _dict(self, value: dict[str, Any], _key: str) -> dict[str, Any]:
        return {k: self.convert(v, k) for k, v in value.items()}

    def _list(self, value: list[Any] | tuple[Any, ...], key: str) -> list[Any]:
        return [self.convert(v, key) for v in value]

    def _time(self, value: datetime, _key: str) -> str:
        moment = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
        return moment.astimezone(self._local).isoformat()

    def _scalar(self, value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return self._dict(value, key)
        if isinstance(value, list | tuple):
            return self._list(value, key)
        if value is None or value is pd.NaT:
            return None
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            return None
        if isinstance(value, datetime):
            return self._time(value, key)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer) and key not in NUMBER_FORMATS:
            return int(value)
        if isinstance(value, int | float | np.integer | np.floating):
            return _number(float(value), key)
        if isinstance(value, str):
            return str(value)
        raise TypeError(f"{key!r}: {type(value).__name__} does not belong in a digest")


def _same(value: Any, _key: str) -> Any:
    return value


def _int(value: int, key: str) -> Any:
    return value if key not in NUMBER_FORMATS else _number(float(value), key)


def _float(value: float, key: str) -> float | None:
    return _number(value, key) if math.isfinite(value) else None


def _number(value: float, key: str) -> float:
    if key not in NUMBER_FORMATS:
        raise TypeError(f"no number format for {key!r}: add it to NUMBER_FORMATS")
    return NUMBER_FORMATS[key](value)
