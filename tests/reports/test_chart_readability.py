"""The charts read at a glance in an e-mail: the plan's span, scope from zero, legible text,
colours told apart by colour-blind readers (issue 15, item 4)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from matplotlib.colors import to_hex
from matplotlib.dates import num2date

from reports.charts import PALETTE, SHOWN_WIDTH_PX, burn_figure, scope_figure

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_digest.json"
OKABE_ITO = {"#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"}


@pytest.fixture
def digest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def x_range(figure: Any) -> tuple[date, date]:
    low, high = figure.axes[0].get_xlim()
    return num2date(low).date(), num2date(high).date()


def texts(figure: Any) -> list[str]:
    figure.canvas.draw()
    return [t.get_text() for t in figure.axes[0].texts]


def test_a_late_forecast_keeps_the_burn_chart_on_the_plan_and_names_the_date_at_its_edge(
    digest: dict[str, Any],
) -> None:
    digest["timeline"]["forecast"] = {"p50": "2027-10-01", "p85": "2027-12-05", "p95": "2028-03-01"}
    figure = burn_figure(digest)
    start, end = x_range(figure)
    # Sep 2026 to Jan 2027 planned: the axis stays there (plus a little room), not into 2028.
    assert start == date(2026, 9, 1)
    assert date(2027, 1, 29) < end < date(2027, 3, 15)
    assert any("5 Dec 2027" in text for text in texts(figure))


def test_a_forecast_inside_the_plan_is_a_line_in_the_legend(digest: dict[str, Any]) -> None:
    digest["timeline"]["forecast"] = {"p50": "2027-01-10", "p85": "2027-01-20", "p95": "2027-02-01"}
    figure = burn_figure(digest)
    figure.canvas.draw()
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "Forecast finish (85%)" in legend
    assert not texts(figure)


def test_scope_chart_starts_from_zero_hours(digest: dict[str, Any]) -> None:
    figure = scope_figure(digest)
    assert figure.axes[0].get_ylim()[0] == 0


@pytest.mark.parametrize("make", [burn_figure, scope_figure])
def test_legend_and_axis_text_are_at_least_12_px_as_the_mail_shows_them(
    make: Any, digest: dict[str, Any]
) -> None:
    figure = make(digest)
    figure.canvas.draw()
    width_px = figure.get_figwidth() * figure.dpi
    shown = SHOWN_WIDTH_PX / width_px  # the e-mail scales the PNG down to its column

    def css_px(text: Any) -> float:
        return float(text.get_fontsize()) * figure.dpi / 72 * shown

    ax = figure.axes[0]
    readable = [*figure.legends[0].get_texts(), *ax.get_xticklabels(), *ax.get_yticklabels()]
    assert readable and min(css_px(t) for t in readable) >= 12


@pytest.mark.parametrize("make", [burn_figure, scope_figure])
def test_every_line_is_drawn_in_the_colour_blind_safe_palette(
    make: Any, digest: dict[str, Any]
) -> None:
    assert {to_hex(c) for c in PALETTE} <= OKABE_ITO
    lines = make(digest).axes[0].get_lines()
    assert lines and {to_hex(line.get_color()) for line in lines} <= OKABE_ITO
