"""The digest's period: one ISO week, Monday 00:00 to the next Monday 00:00, in the project's zone.

Every figure in a digest is "as of the period's end", so the period is the one clock the
calculations share. Weeks are named the ISO way ("2026-W47") because that is what the CLI, the
API and the `digest_sends` table use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class Period:
    """One digest week. `start` and `end` are aware datetimes in the digest's time zone."""

    week: str
    start: datetime
    end: datetime
    # The digest's as-of moment when it is earlier than `end`: "now" for a mid-week preview.
    now: datetime | None = None

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)

    @property
    def as_of_utc(self) -> datetime:
        """What ages are measured to: the period's end, or now for a mid-week preview."""
        if self.now is None or self.now >= self.end:
            return self.end_utc
        # a week not started yet (a preview far ahead) is seen from its start
        return max(self.now, self.start).astimezone(UTC)

    @property
    def tz(self) -> str:
        """The zone's name, e.g. "Europe/Berlin"."""
        return str(self.start.tzinfo)

    @property
    def last_day(self) -> date:
        """The Sunday that closes the period, as a reader would name the week's end."""
        return self.end.date() - timedelta(days=1)


MIN_YEAR, MAX_YEAR = 1970, 2999


def parse_week(week: str) -> tuple[int, int]:
    """`"2026-W47"` -> `(2026, 47)`; anything else is a ValueError naming the bad value."""
    match = _WEEK.fullmatch(week.strip()) if isinstance(week, str) else None
    if match is None:
        raise ValueError(f"bad week {week!r}: expected YYYY-Www, for example 2026-W47")
    year, number = int(match.group(1)), int(match.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        # Beyond these, period arithmetic overflows datetime; no project runs there anyway.
        raise ValueError(f"bad week {week!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ValueError(f"bad week {week!r}: {year} has no ISO week {number}") from None
    return year, number


def zone(tz: str) -> ZoneInfo:
    """The named zone; a bad name is a ValueError (not ZoneInfo's KeyError), like a bad week."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def week_name(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def week_start(day: date, tz: str) -> datetime:
    """Midnight at the start of the Monday of `day`'s ISO week, in `tz`.

    Zones that skip midnight on a DST change get the wall time zoneinfo assigns (fold 0); that
    moves a boundary by an hour at worst, which no weekly figure can notice.
    """
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone(tz))


def period_for(week: str, tz: str) -> Period:
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    # Add days to the local date, not 168 hours to the instant: a DST week is 167 or 169 hours.
    start = week_start(monday, tz)
    end = week_start(monday + timedelta(days=7), tz)
    return Period(week=week_name(monday), start=start, end=end)


def _local_day(now: datetime, tz: str) -> date:
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: give the time with its zone")
    return now.astimezone(zone(tz)).date()


def current_week(now: datetime, tz: str) -> str:
    return week_name(_local_day(now, tz))


def previous_full_week(now: datetime, tz: str) -> str:
    """The last week that has fully ended at `now`: what a Monday-morning digest reports on."""
    return week_name(_local_day(now, tz) - timedelta(days=7))


def add_weeks(week: str, n: int) -> str:
    year, number = parse_week(week)
    return week_name(date.fromisocalendar(year, number, 1) + timedelta(weeks=n))


def weeks_from(first: str, last: str) -> list[str]:
    """Every ISO week from `first` to `last`, both included; empty when `first` is after `last`."""
    weeks = []
    week = first
    while parse_week(week) <= parse_week(last):
        weeks.append(week)
        week = add_weeks(week, 1)
    return weeks


def week_boundaries(first: datetime, until: datetime, tz: str) -> list[datetime]:
    """Local Monday midnights (as UTC) from the week holding `first` up to `until`, in order.

    These are the buckets work is summed into: the first one is at or before `first`, and every
    one of them is before `until`.
    """
    local = zone(tz)
    day = first.astimezone(local).date()
    bounds = []
    start = week_start(day, tz)
    while start < until:
        bounds.append(start.astimezone(UTC))
        day = start.date() + timedelta(days=7)
        start = datetime.combine(day, time(0), tzinfo=local)
    return bounds
