"""Jira's wire formats for instants and durations.

Jira writes instants as `2026-11-16T10:15:30.123+0000` (milliseconds, offset without a colon) and
durations as `1w 2d 3h 30m` on a 5-day week of 8-hour days (the Cloud defaults).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 8 * HOUR  # a Jira working day
WEEK = 5 * DAY  # a Jira working week

_UNITS = {"w": WEEK, "d": DAY, "h": HOUR, "m": MINUTE}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm]?)", re.IGNORECASE)


def jira_time(moment: datetime) -> str:
    """Format an aware instant the way Jira's REST API and webhooks do (always UTC here)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_jira_time(text: str) -> datetime:
    """Read `2026-11-16T10:15:30.123+0000`, `+00:00`, `Z` or a bare date as an aware UTC instant."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = re.search(r"([+-])(\d{2})(\d{2})$", text)
    if match:  # Jira's `+0000` style offset: give it the colon fromisoformat wants
        text = text[: match.start()] + f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"instant without a time zone: {text!r}")
    return moment.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def format_duration(seconds: int) -> str:
    """`93600` -> `3d 2h`, as Jira shows estimates and time spent."""
    if seconds <= 0:
        return "0m"
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) if parts else "0m"


def parse_duration(text: str | int | float) -> int:
    """`"1d 4h"` -> 43200 seconds; a bare number means minutes, as in Jira's time fields."""
    if isinstance(text, int | float):
        return int(text) * MINUTE
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("empty duration")
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            raise ValueError(f"bad duration: {text!r}")
        total += float(match.group(1)) * _UNITS.get(match.group(2).lower() or "m", MINUTE)
        position = match.end()
    if position == 0 or cleaned[position:].strip():
        raise ValueError(f"bad duration: {text!r}")
    return int(total)
