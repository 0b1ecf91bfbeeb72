"""The two digest charts: real PNGs a mail client can show, fast, and sane with no data."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

from reports.charts import burn_chart, burn_figure, scope_chart, scope_figure

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample_digest.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHARTS = [burn_chart, scope_chart]


@pytest.fixture
def digest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def pixels(png: bytes) -> Any:
    assert png.startswith(PNG_SIGNATURE)
    return matplotlib.image.imread(io.BytesIO(png), format="png")


@pytest.mark.parametrize("chart", CHARTS)
def test_chart_is_a_png_wide_enough_for_the_mail(chart: Any, digest: dict[str, Any]) -> None:
    image = pixels(chart(digest))
    height, width = image.shape[:2]
    assert width >= 1100 and 400 <= height < width  # drawn at 2x for a 552-600 px column
    assert image.std() > 0.05  # not a blank canvas


@pytest.mark.parametrize("chart", CHARTS)
def test_chart_with_no_data_says_so_in_a_small_png(chart: Any) -> None:
    empties: list[dict[str, Any]] = [
        {},
        {"series": {"weeks": [], "week_end": [], "spent_cum": []}},
    ]
    for empty in empties:
        png = chart(empty)
        height, width = pixels(png).shape[:2]
        assert (width, height) == (300, 80)
        assert len(png) < 10_000


def test_burn_chart_with_only_nulls_is_no_data(digest: dict[str, Any]) -> None:
    series = digest["series"]
    series["spent_cum"] = [None] * len(series["weeks"])
    series["planned_cum"] = [None] * len(series["weeks"])
    assert pixels(burn_chart(digest)).shape[:2] == (80, 300)


def test_charts_change_with_the_data(digest: dict[str, Any]) -> None:
    before = burn_chart(digest), scope_chart(digest)
    digest["series"]["spent_cum"][-1] = 110_000.0
    digest["series"]["current_hours"][-1] = 1_700.0
    after = burn_chart(digest), scope_chart(digest)
    assert before[0] != after[0] and before[1] != after[1]
    assert burn_chart(digest) == after[0]  # same digest, same bytes


def test_burn_chart_survives_missing_forecast_runway_and_short_series(
    digest: dict[str, Any],
) -> None:
    digest["timeline"]["forecast"] = {"p50": None, "p85": None, "p95": None, "moved_days": None}
    digest["budget"]["runway_date"] = None
    digest["series"]["spent_cum"] = digest["series"]["spent_cum"][:5]  # a week's data missing
    assert pixels(burn_chart(digest)).shape[1] >= 1100


def labels(figure: Any) -> tuple[list[str], list[str], str]:
    """What a reader sees on the axes: the date ticks, the value ticks and the unit."""
    figure.canvas.draw()
    ax = figure.axes[0]
    return (
        [t.get_text() for t in ax.get_xticklabels()],
        [t.get_text() for t in ax.get_yticklabels()],
        ax.get_ylabel(),
    )


@pytest.mark.parametrize(
    ("locale", "months", "days", "thousands"),
    [
        ("en_GB", ["Oct 2026", "Jan 2027"], ["15 Oct", "1 Nov"], "20,000"),
        ("de_DE", ["Okt. 2026", "Jan. 2027"], ["15. Okt.", "1. Nov."], "20.000"),
    ],
)
def test_chart_labels_are_in_the_digests_locale(
    digest: dict[str, Any], locale: str, months: list[str], days: list[str], thousands: str
) -> None:
    digest["locale"] = locale
    # Sept to March, ticked at month starts: months, with the year that turns
    dates, values, unit = labels(burn_figure(digest))
    assert set(months) <= set(dates) and thousands in values and unit == "€"
    # Ten weeks, ticked on the 1st and 15th: days
    dates, values, unit = labels(scope_figure(digest))
    assert set(days) <= set(dates) and unit == "h"
    # the argument wins over the digest's own locale
    other = "de_DE" if locale == "en_GB" else "en_GB"
    assert not set(months) & set(labels(burn_figure(digest, other))[0])


def test_charts_leave_no_pyplot_figures_behind(digest: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    burn_chart(digest)
    scope_chart(digest)
    assert plt.get_fignums() == before
