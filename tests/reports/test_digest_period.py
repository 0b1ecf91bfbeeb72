from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports.period import (
    add_weeks,
    current_week,
    parse_week,
    period_for,
    previous_full_week,
    week_boundaries,
    weeks_from,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_parse_week():
    assert parse_week("2026-W47") == (2026, 47)
    assert parse_week("2026-W53") == (2026, 53)  # 2026 starts on a Thursday: 53 ISO weeks


@pytest.mark.parametrize("bad", ["2026-47", "2026-W7", "W47", "2026-W00", "2025-W53", "", "x"])
def test_parse_week_rejects_with_one_clear_line(bad):
    with pytest.raises(ValueError) as error:
        parse_week(bad)
    message = str(error.value)
    assert repr(bad) in message and "\n" not in message


def test_period_is_monday_to_monday_in_the_digest_zone():
    period = period_for("2026-W47", "Europe/Berlin")
    assert period.start == datetime(2026, 11, 16, tzinfo=BERLIN)
    assert period.end == datetime(2026, 11, 23, tzinfo=BERLIN)
    assert period.start_utc == datetime(2026, 11, 15, 23, tzinfo=UTC)
    assert period.end_utc == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert period.last_day.isoformat() == "2026-11-22"
    assert period.tz == "Europe/Berlin"


def test_a_dst_week_is_167_hours_and_still_ends_at_local_midnight():
    period = period_for("2026-W13", "Europe/Berlin")  # clocks go forward on Sunday 29 March
    assert period.end_utc - period.start_utc == timedelta(hours=167)
    assert period.end.isoformat() == "2026-03-30T00:00:00+02:00"


def test_current_week_depends_on_the_zone():
    now = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    assert current_week(now, "UTC") == "2026-W47"
    assert current_week(now, "Europe/Berlin") == "2026-W48"


def test_previous_full_week_is_what_a_monday_digest_reports():
    assert previous_full_week(datetime(2026, 11, 23, 8, tzinfo=BERLIN), "Europe/Berlin") == (
        "2026-W47"
    )
    assert previous_full_week(datetime(2027, 1, 4, 8, tzinfo=BERLIN), "Europe/Berlin") == (
        "2026-W53"
    )


def test_naive_times_and_unknown_zones_are_refused():
    with pytest.raises(ValueError, match="naive"):
        current_week(datetime(2026, 11, 23), "UTC")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        period_for("2026-W47", "Mars/Base")


def test_week_arithmetic_crosses_years():
    assert add_weeks("2026-W53", 1) == "2027-W01"
    assert weeks_from("2026-W52", "2027-W02") == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    assert weeks_from("2026-W48", "2026-W47") == []


def test_week_boundaries_are_local_mondays():
    first = datetime(2026, 11, 18, 12, tzinfo=UTC)  # a Wednesday
    until = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert week_boundaries(first, until, "Europe/Berlin") == [
        datetime(2026, 11, 15, 23, tzinfo=UTC),
        datetime(2026, 11, 22, 23, tzinfo=UTC),
        datetime(2026, 11, 29, 23, tzinfo=UTC),
    ]
    assert week_boundaries(until, first, "UTC") == []
