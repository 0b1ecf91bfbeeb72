"""The digest's two charts as PNG bytes: budget burn, and scope over time.

Axis labels go through `reports.formats` in the digest's locale, like every other figure a client
reads; matplotlib's own date labels would follow the server's C locale ("Nov", never "Nov.").

Figures are built with `matplotlib.figure.Figure` on an explicit Agg canvas, never through pyplot:
pyplot keeps every figure in a global registry and picks a backend from the environment, which leaks
memory in a long-running worker and fails on a server without a display.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from reports import formats, i18n

# 552 CSS pixels wide in the e-mail, drawn at about twice that so it stays sharp on high-density
# screens. Text is sized for the column, not the canvas: 10 pt at 200 dpi is ~28 px drawn, ~13 px
# shown, the size of the digest's own small print; 7 pt read as 9 px in Gmail, too small to read.
_SIZE_INCHES = (6.0, 2.8)
_DPI = 200
_EMPTY_SIZE_INCHES = (3.0, 0.8)
_TEXT_PT = 10.0
SHOWN_WIDTH_PX = 552

# Okabe & Ito's palette, told apart by readers with any common colour-vision deficiency; each line
# also differs in style (solid, dashed, stepped, dotted), so print in grey still reads.
_ACTUAL = "#0072B2"  # blue
_PLAN = "#000000"  # black
_BUDGET = "#D55E00"  # vermilion
_FORECAST = "#E69F00"  # orange
PALETTE = (_ACTUAL, _PLAN, _BUDGET, _FORECAST)
# The plan's span gets this much room after its end, so a late forecast still shows beside it.
_AFTER_END = 0.12


def burn_chart(d: Mapping[str, Any], locale: str | None = None) -> bytes:
    """Cumulative spend against plan and budget by week, with the forecast finish marked.

    `locale` overrides the digest's own "locale" key, as in `reports.render`.
    """
    return _png(burn_figure(d, locale))


def scope_chart(d: Mapping[str, Any], locale: str | None = None) -> bytes:
    """Agreed (baseline) hours against current hours by week; the gap is the added scope."""
    return _png(scope_figure(d, locale))


def burn_figure(d: Mapping[str, Any], locale: str | None = None) -> Figure:
    """`burn_chart` before it becomes a PNG, for tests that read its labels."""
    series = d.get("series") or {}
    dates = _dates(series.get("week_end"))
    spent = _numbers(series.get("spent_cum"), len(dates))
    planned = _numbers(series.get("planned_cum"), len(dates))
    budget = _numbers(series.get("budget_total"), len(dates))
    lang = formats.locale_of(d, locale)
    if not dates or all(math.isnan(v) for v in spent + planned):
        return _no_data(lang)
    t = i18n.texts(lang)

    fig, ax = _figure()
    ax.plot(dates, planned, color=_PLAN, linestyle="--", linewidth=1.5, label=t._("Plan"))
    ax.plot(
        dates, spent, color=_ACTUAL, linewidth=2.2, marker="o", markersize=3, label=t._("Spent")
    )
    ax.step(dates, budget, where="post", color=_BUDGET, linewidth=1.2, label=t._("Budget"))
    _mark_runway(ax, d, dates, spent, t)
    span = _plan_span(d, dates)
    _mark_forecast(ax, d, span, lang)
    _finish(fig, ax, formats.currency_symbol(d.get("currency") or "", lang), lang)
    ax.set_xlim(*span)
    ax.set_ylim(bottom=0)
    return fig


def scope_figure(d: Mapping[str, Any], locale: str | None = None) -> Figure:
    """`scope_chart` before it becomes a PNG."""
    series = d.get("series") or {}
    dates = _dates(series.get("week_end"))
    baseline = _numbers(series.get("baseline_hours"), len(dates))
    current = _numbers(series.get("current_hours"), len(dates))
    lang = formats.locale_of(d, locale)
    if not dates or all(math.isnan(v) for v in baseline + current):
        return _no_data(lang)
    t = i18n.texts(lang)

    fig, ax = _figure()
    ax.plot(
        dates, baseline, color=_PLAN, linestyle="--", linewidth=1.5, label=t._("Agreed (baseline)")
    )
    ax.plot(
        dates,
        current,
        color=_ACTUAL,
        linewidth=2.2,
        marker="o",
        markersize=3,
        label=t._("Current scope"),
    )
    ax.fill_between(
        dates,
        baseline,
        current,
        where=[c > b for b, c in zip(baseline, current, strict=True)],
        color=_ACTUAL,
        alpha=0.12,
        interpolate=True,
        label=t._("Added"),
    )
    _finish(fig, ax, "h", lang)
    # From zero, so that +8 % looks like 8 %; the shaded gap and the table carry the detail.
    ax.set_ylim(bottom=0)
    return fig


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=_SIZE_INCHES, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.6)
    ax.tick_params(labelsize=_TEXT_PT)
    return fig, ax


class _DateTicks(Formatter):
    """Date ticks in the digest's locale. Ticks all on month starts read as months ("Jan 2027",
    which also shows the year turning); others as days ("15 Oct")."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def format_ticks(self, values: list[float]) -> list[str]:
        # All ticks at once, as matplotlib asks for them when drawing: one look decides the style.
        days = [num2date(value).date() for value in values]
        style: formats.DateStyle = "month_year" if all(d.day == 1 for d in days) else "day_month"
        return [formats.date(day, self.locale, style) for day in days]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return formats.date(num2date(x).date(), self.locale)


def _finish(fig: Figure, ax: Any, unit: str, locale: str) -> None:
    ax.xaxis.set_major_locator(AutoDateLocator(maxticks=6))
    ax.xaxis.set_major_formatter(_DateTicks(locale))
    ax.yaxis.set_major_formatter(lambda value, _pos: formats.number(value, locale))
    ax.set_ylabel(unit, fontsize=_TEXT_PT)
    # Below the plot, so it never covers a line whatever the data's shape.
    fig.legend(fontsize=_TEXT_PT, frameon=False, loc="outside lower center", ncols=3)


def _mark_runway(
    ax: Any, d: Mapping[str, Any], dates: list[date], spent: list[float], t: i18n.Texts
) -> None:
    """A dotted line from the last actual figure to the day the budget runs out at this pace."""
    budget = d.get("budget") or {}
    runway = _date(budget.get("runway_date"))
    total = budget.get("total")
    known = [(x, y) for x, y in zip(dates, spent, strict=True) if not math.isnan(y)]
    if runway is None or total is None or not known or runway <= known[-1][0]:
        return
    last_x, last_y = known[-1]
    ax.plot(
        [last_x, runway],
        [last_y, float(total)],
        color=_ACTUAL,
        linestyle=":",
        linewidth=1.4,
        label=t._("At this pace"),
    )


def _plan_span(d: Mapping[str, Any], dates: list[date]) -> tuple[date, date]:
    """The x-axis: the project's plan (start to planned end, with a little room after it).

    Never the forecast's own extent: a finish forecast ten months late would otherwise squeeze
    three months of spending into the chart's left edge. A later forecast is marked at the edge.
    """
    timeline = d.get("timeline") or {}
    start = min([x for x in (_date(timeline.get("start")), dates[0]) if x is not None])
    end = max([x for x in (_date(timeline.get("end")), dates[-1]) if x is not None])
    room = max((end - start) * _AFTER_END, timedelta(days=7))
    return start, end + room


def _mark_forecast(ax: Any, d: Mapping[str, Any], span: tuple[date, date], locale: str) -> None:
    """The likely finish (50–95%) shaded, the 85% date drawn, and the planned end for scale.

    A finish beyond the chart's edge is an arrow at the edge with its date, so the reader sees
    both the spending and how far off the finish is.
    """
    t = i18n.texts(locale)
    timeline = d.get("timeline") or {}
    forecast = timeline.get("forecast") or {}
    p50, p85, p95 = (_date(forecast.get(k)) for k in ("p50", "p85", "p95"))
    if p50 is not None and p95 is not None and p50 < p95:
        ax.axvspan(max(p50, span[0]), min(p95, span[1]), color=_FORECAST, alpha=0.12, linewidth=0)
    end = _date(timeline.get("end"))
    if end is not None:
        ax.axvline(end, color=_PLAN, linewidth=0.8, linestyle="-.", label=t._("Planned end"))
    if p85 is None:
        return
    if p85 <= span[1]:
        ax.axvline(p85, color=_FORECAST, linewidth=1.6, label=t._("Forecast finish (85%)"))
        return
    ax.annotate(
        t._("Forecast finish %(date)s", date=formats.date(p85, locale)) + " \u2192",
        xy=(0.99, 0.06),
        xycoords="axes fraction",
        ha="right",
        va="bottom",  # the lower right is empty: spending starts low and rises to the right
        fontsize=_TEXT_PT,
        color="#000000",
        bbox={"boxstyle": "round,pad=0.3", "facecolor": _FORECAST, "alpha": 0.35, "linewidth": 0},
    )


def _no_data(locale: str) -> Figure:
    fig = Figure(figsize=_EMPTY_SIZE_INCHES, dpi=100)
    FigureCanvasAgg(fig)
    fig.text(
        0.5,
        0.5,
        i18n.texts(locale)._("No data yet"),
        ha="center",
        va="center",
        fontsize=11,
        color=_PLAN,
    )
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software"/date metadata: the same digest then gives the same bytes.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _dates(values: Iterable[Any] | None) -> list[date]:
    """Week-end dates; the series is unusable (treated as empty) if any of them is unreadable."""
    parsed = [_date(v) for v in values or ()]
    return [] if any(v is None for v in parsed) else [v for v in parsed if v is not None]


def _numbers(values: Iterable[Any] | None, length: int) -> list[float]:
    """Floats aligned to the dates; a missing or null value is NaN so the line breaks there."""
    out = [math.nan if v is None else float(v) for v in values or ()]
    return (out + [math.nan] * length)[:length]


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None
