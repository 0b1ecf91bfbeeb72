"""One project's mirror as DataFrames (`Frames`): declared columns and dtypes, and the helpers
every calculation shares.

Every frame has a declared set of columns and dtypes (`SCHEMAS`). Rows built in memory (tests,
fixtures) and rows read from the database (`service.digest.load`) go through the same
`normalise`, so a calculation cannot pass on literal frames and fail on loaded ones.

`worklogs.started` is the start of the worklog's digest week when loaded from the database (the
loader sums worklogs by week), and the real start time when written by hand; calculations only
compare it with week boundaries, so both mean the same thing.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

TIME = "datetime64[us, UTC]"


# kind per column: "str", "category", "bool", "int", "float", "time", "tuple" (of str), "object"
SCHEMAS: dict[str, dict[str, str]] = {
    "issues": {
        "id": "str", "key": "str", "summary": "str", "issue_type": "category",
        "is_subtask": "bool", "parent_id": "str", "status": "category",
        "status_category": "category", "assignee": "category", "owner": "category",
        "components": "tuple",
        "labels": "tuple", "fix_version_ids": "tuple", "original_estimate_seconds": "float",
        "story_points": "float", "flagged": "bool", "flagged_since": "time", "created": "time",
        "resolved": "time", "status_since": "time", "moved_in_at": "time",
    },
    # started: the week bucket start when loaded (see the module docstring)
    # issue_type and labels: read only where the mapping marks types or labels non-billable
    "worklogs": {
        "started": "time", "author": "category", "components": "tuple", "seconds": "int",
        "issue_type": "category", "labels": "tuple",
    },
    "transitions": {
        "issue_id": "str", "from_status": "category", "to_status": "category", "at": "time",
    },
    "field_changes": {
        "issue_id": "str", "field": "category", "from_value": "str", "to_value": "str",
        "at": "time",
    },
    # "Blocks" links whose blocked issue (destination) is in the project; the source's current
    # status category covers sources outside the project, whose history we do not hold.
    "links": {
        "source_issue_id": "str", "destination_issue_id": "str", "created": "time",
        "source_status_category": "category",
    },
    "versions": {"id": "str", "name": "str", "release_date": "object", "released": "bool"},
    # rejected_logged_seconds: work logged on a rejected change's issue before `until` (0 for the
    # others): the only logged work on a change the digest shows, and summing it for every change
    # cost a fifth of a second on a big project.
    "scope_changes": {
        "issue_id": "str", "key": "str", "summary": "str", "issue_type": "category",
        "created": "time", "detected_at": "time", "hours": "float", "hours_source": "category",
        "cost": "float", "currency": "category", "schedule_days": "float",
        "decision": "category", "decided_at": "time", "withdrawn": "bool",
        "written_back": "bool", "rejected_logged_seconds": "int",
    },
    "scope_growth": {
        "issue_id": "str", "key": "str", "from_hours": "float", "to_hours": "float", "at": "time",
    },
    "feedback": {
        "week": "str", "happy": "bool", "score": "int", "comment": "str", "at": "time",
    },
    # The newest captured baseline's snapshot; empty when the mapping's date is the baseline.
    "baseline_items": {
        "issue_id": "str", "key": "str", "issue_type": "category",
        "original_estimate_seconds": "float", "story_points": "float",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Frames:
    """One project's mirror as DataFrames, with the columns and dtypes in `SCHEMAS`."""

    issues: pd.DataFrame
    worklogs: pd.DataFrame
    transitions: pd.DataFrame
    field_changes: pd.DataFrame
    links: pd.DataFrame
    versions: pd.DataFrame
    scope_changes: pd.DataFrame
    scope_growth: pd.DataFrame
    feedback: pd.DataFrame
    baseline_items: pd.DataFrame


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _column(values: pd.Series, kind: str) -> pd.Series:
    if kind == "str":
        return values.astype("str")
    if kind == "category":
        return _categories(values)
    if kind == "bool":
        return values.fillna(False).astype(bool)
    if kind == "int":
        return values.fillna(0).astype("int64")
    if kind == "float":
        return _floats(values)
    if kind == "time":
        # naive values are UTC: that is how the mirror stores every time. Times are mostly
        # distinct or null, where pandas' cache of parsed values costs more than it saves.
        return pd.to_datetime(values, utc=True, format="ISO8601", cache=False).astype(TIME)
    if kind == "tuple":
        types = set(map(type, values.to_numpy(dtype=object)))
        if all(issubclass(t, tuple) for t in types):  # as loaded: already converted once
            return values.astype(object)
        return values.map(_as_tuple).astype(object)
    return values.astype(object)


def _categories(values: pd.Series) -> pd.Series:
    """`values.astype("str").astype("category")`, converting each distinct value once."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    labels = pd.Categorical(pd.Index(uniques, dtype=object).astype("str"))
    codes = np.append(labels.codes, -1)[codes]  # code -1 (null) takes the last: null again
    return pd.Series(pd.Categorical.from_codes(codes, dtype=labels.dtype), index=values.index)


def _floats(values: pd.Series) -> pd.Series:
    """Numbers as float64, nulls and anything unreadable as NaN."""
    try:  # numbers and nulls, as read: numpy converts them in one pass
        return pd.Series(np.array(values.to_numpy(dtype=object), dtype="float64"), values.index)
    except (TypeError, ValueError):
        return pd.to_numeric(values, errors="coerce").astype("float64")


def normalise(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with exactly the columns of `SCHEMAS[name]`, in order, with their dtypes.

    Missing columns are filled with nulls (False, 0, empty tuples), so hand-written rows need only
    the fields a test is about.
    """
    schema = SCHEMAS[name]
    if name == "issues" and "owner" not in frame and "assignee" in frame:
        # Without a known display name, the owner is shown by their Jira id.
        frame = frame.assign(owner=frame["assignee"])
    out = {}
    for column, kind in schema.items():
        values = frame[column] if column in frame else pd.Series([None] * len(frame), dtype=object)
        out[column] = _column(values.reset_index(drop=True), kind)
    return pd.DataFrame(out, columns=list(schema))


def frames_from_records(**records: Iterable[Mapping[str, Any]]) -> Frames:
    """Frames from lists of dicts, e.g. `frames_from_records(issues=[{...}], worklogs=[...])`."""
    unknown = set(records) - set(SCHEMAS)
    if unknown:
        raise TypeError(f"unknown frames {sorted(unknown)}; expected some of {sorted(SCHEMAS)}")
    return Frames(
        **{
            name: normalise(name, pd.DataFrame(list(records.get(name, ())), dtype=object))
            for name in SCHEMAS
        }
    )


def empty_frames() -> Frames:
    return frames_from_records()


def map_distinct(values: pd.Series, convert: Callable[[Any], Any]) -> pd.Series:
    """`values.map(convert)`, calling `convert` once per distinct value (nulls included once).

    Component lists, statuses and authors repeat across thousands of rows; this keeps the Python
    work proportional to the distinct values.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = [convert(u) for u in uniques] + [convert(None)]  # code -1 (null) takes the last
    table = np.empty(len(converted), dtype=object)
    table[:] = converted
    return pd.Series(table[codes], index=values.index, dtype=object)


def micros(times: pd.Series) -> np.ndarray:
    """A time column as int64 microseconds since the epoch, for numpy arithmetic (NaT is the
    smallest int64: test `.isna()` where nulls matter).
    """
    return pd.DatetimeIndex(times).as_unit("us").asi8


def utc(value: datetime) -> pd.Timestamp:
    """A pandas timestamp in UTC, to compare with the frames' time columns."""
    return pd.Timestamp(value).tz_convert(UTC)


def rows_of(frame: pd.DataFrame) -> Iterator[Any]:
    """`frame.itertuples(index=False)`, with each column turned into Python objects in one pass.

    Iterating a string column goes through pandas' scalar access once per value, which costs more
    than the rest of a blocker list of thousands of rows.
    """
    row = namedtuple("row", [str(c) for c in frame.columns], rename=True)  # type: ignore[misc]
    columns = (frame.iloc[:, i].to_numpy(dtype=object) for i in range(frame.shape[1]))
    return map(row._make, zip(*columns, strict=True))
