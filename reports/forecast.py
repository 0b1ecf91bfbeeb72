"""When will the remaining work be done? A Monte Carlo over recent weekly throughput.

Throughput is the hours of in-scope issues finished each week over the last (up to) twelve full
weeks, never before the project's start. Each trial replays randomly drawn past weeks until the
remaining hours are covered; the percentiles of the trials are the dates. The random generator
is an argument so that a digest is reproducible.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from mappings.model import Project
from reports.frames import micros, utc
from reports.period import Period, add_weeks, period_for, week_name, weeks_from

THROUGHPUT_WEEKS = 12
HORIZON_WEEKS = 520  # ten years: a date further out says nothing a reader can act on
TRIALS = 10_000
PERCENTILES = (50, 85, 95)


class Simulation:
    """Cumulative done hours per trial and future week, drawn as far as questions need."""

    def __init__(self, throughput: np.ndarray, rng: np.random.Generator, trials: int) -> None:
        self._throughput = throughput
        self._rng = rng
        self._cum = np.zeros((trials, 0))

    def _extend_to(self, hours: float) -> None:
        while self._cum.shape[1] < HORIZON_WEEKS and (
            self._cum.shape[1] == 0 or self._cum[:, -1].min() < hours
        ):
            columns = min(max(8, self._cum.shape[1]), HORIZON_WEEKS - self._cum.shape[1])
            draws = self._rng.choice(self._throughput, size=(self._cum.shape[0], columns))
            base = self._cum[:, -1:] if self._cum.shape[1] else 0.0
            self._cum = np.hstack([self._cum, base + np.cumsum(draws, axis=1)])

    def weeks_to(self, hours: float) -> np.ndarray:
        """Per trial, the (fractional) weeks to finish `hours`; inf beyond the horizon.

        Within the finishing week, work is assumed to progress evenly, so forecasts differ by
        days, not only by whole weeks.
        """
        trials = self._cum.shape[0]
        if hours <= 0:
            return np.zeros(trials)
        self._extend_to(hours)
        cum = self._cum
        rows = np.arange(trials)
        k = (cum < hours).sum(axis=1)  # cumulative sums never fall: first week reaching `hours`
        reached = k < cum.shape[1]
        at = np.minimum(k, cum.shape[1] - 1)
        before = np.where(k > 0, cum[rows, np.maximum(k - 1, 0)], 0.0)
        step = cum[rows, at] - before
        fraction = np.divide(hours - before, step, out=np.ones(trials), where=reached & (step > 0))
        return np.where(reached, k + fraction, np.inf)


def percentile(weeks: np.ndarray, p: int) -> float:
    """The nearest-rank percentile: an actual trial's result, and safe with inf."""
    ordered = np.sort(weeks)
    return float(ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)])


def finish_date(period: Period, weeks: float) -> date | None:
    """The day on which work starting at the period's end finishes after `weeks`."""
    if not math.isfinite(weeks):
        return None
    if weeks <= 0:
        return period.last_day
    days = math.ceil(7 * weeks - 1e-9)  # finishing exactly at midnight is the previous day
    return period.end.date() + timedelta(days=days - 1)


def weekly_throughput(
    state: pd.DataFrame, hours: pd.Series, project: Project, period: Period
) -> np.ndarray:
    """Hours finished in each full week of the window, oldest first (zero weeks included)."""
    first = max(add_weeks(period.week, 1 - THROUGHPUT_WEEKS), week_name(project.start))
    weeks = weeks_from(first, period.week)
    if not weeks:
        return np.zeros(0)
    edges = [utc(period_for(w, period.tz).start_utc) for w in weeks] + [utc(period.end_utc)]
    done = state[state["done"] & state.index.isin(hours.index)]
    done_at = done["done_at"]
    inside = (done_at >= edges[0]) & (done_at < edges[-1])
    finished = done[inside]
    edge_times = micros(pd.Series(edges, dtype=finished["done_at"].dtype))
    slot = np.searchsorted(edge_times, micros(finished["done_at"]), side="right") - 1
    weights = hours.reindex(finished.index).fillna(0).to_numpy(dtype=float)
    return np.bincount(slot, weights=weights, minlength=len(weeks)).astype(float)


def open_hours(state: pd.DataFrame, hours: pd.Series) -> pd.Series:
    """Hours of the in-scope issues not done; unpriced ones weigh nothing (size unknown)."""
    done = state["done"].reindex(hours.index, fill_value=False).astype(bool)
    return hours[~done].fillna(0)


def calculate_forecast(
    state: pd.DataFrame,
    hours: pd.Series,
    new_change_ids: pd.Series | list[str],
    project: Project,
    period: Period,
    rng: np.random.Generator,
    trials: int = TRIALS,
) -> tuple[dict[str, Any], Simulation | None]:
    """p50/p85/p95 completion dates and how far this week's new changes moved p85.

    `hours`: the in-scope hours by issue id (`scope.ScopeHours.now`); `new_change_ids`: the
    issues of the changes created this week and not rejected. Returns the simulation too, so
    milestones can ask it about their own remaining hours.
    """
    remaining = open_hours(state, hours)
    total = float(remaining.sum())
    without_new = total - float(remaining[remaining.index.isin(list(new_change_ids))].sum())
    nothing: dict[str, Any] = {f"p{p}": None for p in PERCENTILES}
    if float(hours.fillna(0).sum()) <= 0:
        return {**nothing, "moved_days": None, "reason": "no estimated work to forecast"}, None
    throughput = weekly_throughput(state, hours, project, period)
    if throughput.sum() <= 0:
        reason = f"no estimated work was finished in the last {len(throughput)} weeks"
        return {**nothing, "moved_days": None, "reason": reason}, None
    simulation = Simulation(throughput, rng, trials)
    weeks = simulation.weeks_to(total)
    with_new = {p: finish_date(period, percentile(weeks, p)) for p in PERCENTILES}
    p85_without = finish_date(period, percentile(simulation.weeks_to(without_new), 85))
    p85 = with_new[85]
    beyond = any(d is None for d in with_new.values())
    return {
        **{f"p{p}": d for p, d in with_new.items()},
        "moved_days": (p85 - p85_without).days if p85 and p85_without else None,
        "reason": f"beyond {HORIZON_WEEKS // 52} years at the recent pace" if beyond else None,
    }, simulation


def p85_date(simulation: Simulation | None, period: Period, hours: float) -> date | None:
    """The 85th-percentile finish date for `hours` of work, None without a simulation."""
    if simulation is None:
        return None
    return finish_date(period, percentile(simulation.weeks_to(hours), 85))
