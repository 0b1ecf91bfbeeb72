"""Reads one project's mirror into `reports.frames.Frames`: the only place the digest speaks SQL.

Worklogs are the big table (a million rows for a large project). Every figure the digest shows
needs only the week a worklog falls in, the rate of its author and the category of its issue, so
they are read as one row per (digest week, author, the issue's components): from the roll-up of
days the worker keeps (`service.mirror.rollup`), or summed in SQL where there is none yet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Text,
    case,
    cast,
    false,
    func,
    true,
    type_coerce,
)
from sqlalchemy import select as sql_select

from mappings.model import Mapping as ProjectMapping
from reports.contracts import split_days
from reports.digest import build_digest
from reports.frames import Frames, map_distinct, normalise
from reports.period import period_for, week_boundaries
from reports.rates import change_days
from service.mirror import rollup as worklog_rollup
from service.store import schema as db


def digest_for(
    conn: Connection, mapping: ProjectMapping, project_key: str, week: str, **kw: Any
) -> dict[str, Any]:
    """Reads the project's mirror as of the week's end and builds its digest."""
    project = mapping.project(project_key)
    if project is None:
        raise ValueError(f"{mapping.source}: no project {project_key!r} in the mapping")
    period = period_for(week, project.digest.tz)
    nb = project.non_billable
    frames = load_frames(
        conn, project_key, period.end_utc, tz=project.digest.tz,
        splits=change_days(project) + split_days(project, period.last_day),
        by_type_and_label=bool(nb.types or nb.labels),
    )  # fmt: skip
    return build_digest(frames, mapping, project_key, week, **kw)


def load_frames(
    conn: Connection,
    project_key: str,
    until: datetime,
    *,
    tz: str = "UTC",
    splits: Sequence[date] = (),
    by_type_and_label: bool = False,
) -> Frames:
    """The mirror of `project_key` as it stood before `until` (the period's end).

    `tz` is the digest's time zone: worklogs are summed by its weeks, so pass the project's.
    `splits` are local days a week's sum must not straddle (the days rates change on): each
    piece is priced at the rate of its own first day. `by_type_and_label` also sums worklogs by
    their issue's type and labels (for non-billable types or labels), which the roll-up does not
    keep, so they are then summed from the worklogs themselves.
    Histories (transitions, flag changes) are read whole, because the state in force at `until`
    of an issue whose first recorded change came later is that change's "from" value.
    """
    if until.tzinfo is None:
        raise ValueError(f"naive datetime {until!r}: give `until` with its zone")
    issue_rows = _read(conn, _issues_query(project_key, until))
    versions = _read(conn, _versions_query(project_key))
    issues, versions = _issues_and_versions(issue_rows, versions)
    ids = _project_issue_ids(project_key)
    frames = {
        "issues": issues,
        "worklogs": _read_worklogs(conn, project_key, until, tz, splits, by_type_and_label),
        "transitions": _read(conn, _history_query(db.transitions, ids)),
        "field_changes": _read(conn, _flag_changes_query(ids)),
        "links": _read(conn, _links_query(ids, until)),
        "versions": versions,
        "scope_changes": _read(conn, _scope_changes_query(project_key, until)),
        "scope_growth": _read(conn, _growth_query(project_key, until)),
        "feedback": _read(conn, _feedback_query(project_key, until)),
        "baseline_items": _read(conn, _baseline_items_query(conn, project_key, until)),
    }
    return Frames(**{f.name: normalise(f.name, frames[f.name]) for f in fields(Frames)})


def _read(conn: Connection, query: Select[Any] | None) -> pd.DataFrame:
    """The query's rows as a frame of object columns, with the values SQLAlchemy would give.

    The rows are taken from the driver's cursor: wrapping each in a SQLAlchemy `Row` cost more
    than the query for a big project. The few columns whose type converts what the driver gives
    (booleans and dates on SQLite) are converted here instead, once per distinct value.
    """
    if query is None:
        return pd.DataFrame()
    result = conn.execute(query)
    keys = list(result.keys())
    types = [c.type for c in query.selected_columns]
    codes = [d[1] for d in result.cursor.description]
    rows = result.cursor.fetchall()
    result.close()
    # Transposed in one pass in C (handing pandas the rows would make it probe each one), into
    # one array per column: a single 2-D block would be copied whenever a column is replaced.
    table = np.empty((len(keys), len(rows)), dtype=object)
    if rows:
        table.T[:] = rows
    columns = []
    for values, type_, code in zip(table, types, codes, strict=True):
        column = pd.Series(values, dtype=object, copy=False)
        convert = type_.dialect_impl(conn.dialect).result_processor(conn.dialect, code)
        columns.append(column if convert is None else map_distinct(column, convert))
    return pd.DataFrame(dict(zip(keys, columns, strict=True)), copy=False)


def _plain(*columns: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """Columns to select; times come back as the driver gives them (text on SQLite, naive
    datetimes on PostgreSQL) and are converted by pandas in one vectorised pass, instead of one
    Python call per value in `UTCDateTime`.
    """
    return [
        type_coerce(c, String).label(c.key) if isinstance(c.type, db.UTCDateTime) else c
        for c in columns
    ]


def _project_issue_ids(project_key: str) -> Select[Any]:
    issues = db.issues.c
    return sql_select(issues.id).where(issues.project_key == project_key, issues.deleted == false())


def _issues_query(project_key: str, until: datetime) -> Select[Any]:
    c, people = db.issues.c, db.people.c
    # JSON columns come back as text and are parsed once per distinct value (`map_distinct`):
    # components and labels repeat across thousands of issues.
    owner = func.coalesce(people.display_name, c.assignee).label("owner")
    return sql_select(
        c.id, c.key, c.summary, c.issue_type, c.is_subtask, c.parent_id, c.status,
        c.status_category, c.assignee, owner, cast(c.components, Text).label("components"),
        cast(c.labels, Text).label("labels"), cast(c.fix_versions, Text).label("fix_versions"),
        c.original_estimate_seconds, c.story_points, c.flagged,
        *_plain(c.flagged_since, c.created, c.resolved, c.status_since, c.moved_in_at),
    ).outerjoin_from(
        # a join, not a subquery per issue: PostgreSQL hashes the people once (one row per id)
        db.issues, db.people, people.id == c.assignee
    ).where(
        c.project_key == project_key,
        c.deleted == false(),
        (c.created < until) | c.created.is_(None),  # an issue created later did not exist yet
    )  # fmt: skip


def _versions_query(project_key: str) -> Select[Any]:
    c = db.versions.c
    return sql_select(c.id, c.name, c.release_date, c.released).where(c.project_key == project_key)


def _json_list(text: Any) -> list[Any]:
    return json.loads(text) if isinstance(text, str) and text else []


def _json_tuple(text: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in _json_list(text))


def _issues_and_versions(
    issues: pd.DataFrame, table: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Issues with components/labels as tuples and fix versions as ids, and every version known.

    Fix versions appear on issues (with their release date) and in the `versions` table (which
    also says whether one is released); the table wins where both speak.
    """
    if issues.empty:
        return issues, table
    texts = issues["fix_versions"]
    issues = issues.drop(columns="fix_versions").assign(
        components=map_distinct(issues["components"], _json_tuple),
        labels=map_distinct(issues["labels"], _json_tuple),
        fix_version_ids=map_distinct(
            texts, lambda t: tuple(str(v.get("id")) for v in _json_list(t))
        ),
    )
    seen: dict[str, dict[str, Any]] = {}
    for text in texts.unique():
        for v in _json_list(text):
            seen.setdefault(str(v.get("id")), _version_from_issue(v))
    from_issues = pd.DataFrame(list(seen.values()), columns=["id", "name", "release_date"])
    if not table.empty:
        table = table.assign(id=table["id"].astype(str))
        from_issues = from_issues[~from_issues["id"].isin(table["id"])]
    return issues, pd.concat([table, from_issues], ignore_index=True) if len(from_issues) else table


def _version_from_issue(version: Mapping[str, Any]) -> dict[str, Any]:
    released = version.get("releaseDate")
    return {
        "id": str(version.get("id")),
        "name": str(version.get("name") or version.get("id")),
        "release_date": date.fromisoformat(released[:10]) if released else None,
        "released": bool(version.get("released", False)),
    }


def _read_worklogs(
    conn: Connection,
    project_key: str,
    until: datetime,
    tz: str,
    splits: Sequence[date] = (),
    by_issue: bool = False,
) -> pd.DataFrame:
    """Seconds per (digest week, author, components): from the roll-up when it was built in
    this zone, else summed from the worklogs themselves."""
    if not by_issue and worklog_rollup.built_zone(conn, project_key) == tz:
        frame = _rolled_up_weeks(conn, project_key, until, tz, splits)
    else:
        frame = _summed_weeks(conn, project_key, None, until, tz, splits, by_issue)
    if frame.empty:
        return pd.DataFrame()
    frame["components"] = map_distinct(frame["components"], _json_tuple)
    if "labels" in frame:
        frame["labels"] = map_distinct(frame["labels"], _json_tuple)
    return frame


def _buckets(first: datetime, until: datetime, tz: str, splits: Sequence[date]) -> list[datetime]:
    """The week boundaries from `first`'s week to `until`, and the local midnights of `splits`
    between them: a rate change on a Friday splits its week in two."""
    bounds = week_boundaries(first, until, tz)
    if not bounds or not splits:
        return bounds
    zone = ZoneInfo(tz)
    extra = {worklog_rollup.midnight_of(day, zone) for day in splits}
    return sorted(set(bounds) | {m for m in extra if bounds[0] < m < until})


def _summed_weeks(
    conn: Connection,
    project_key: str,
    since: datetime | None,
    until: datetime,
    tz: str,
    splits: Sequence[date] = (),
    by_issue: bool = False,
) -> pd.DataFrame:
    w = db.worklogs.c
    first = conn.execute(
        sql_select(func.min(w.started)).where(w.started >= since if since else true())
    ).scalar()
    if first is None or first >= until:
        return pd.DataFrame()
    bounds = _buckets(first, until, tz, splits)
    scan_first = conn.dialect.name == "sqlite"
    query = _worklog_sums_query(
        project_key, since, until, bounds, scan_first=scan_first, by_issue=by_issue
    )
    frame = _read(conn, query)
    frame["started"] = frame.pop("bucket").map(lambda i: bounds[int(i)])
    return frame


def _rolled_up_weeks(
    conn: Connection, project_key: str, until: datetime, tz: str, splits: Sequence[date] = ()
) -> pd.DataFrame:
    """The roll-up's whole days before `until`, summed into weeks, plus the part-day before
    `until` (when it is not a midnight) from the worklogs."""
    whole_days_end = worklog_rollup.local_midnight(until, ZoneInfo(tz))
    days = _read(conn, worklog_rollup.days_query(project_key, whole_days_end))
    parts = []
    if not days.empty:
        day = pd.to_datetime(days.pop("day"), utc=True)
        bounds = pd.DatetimeIndex(_buckets(day.min().to_pydatetime(), until, tz, splits))
        days["started"] = bounds[bounds.searchsorted(day, side="right") - 1]
        # The roll-up keys a missing author as "": the worklogs themselves say None.
        days["author"] = days["author"].where(days["author"] != "", None)
        parts.append(days)
    if whole_days_end < until:
        parts.append(_summed_weeks(conn, project_key, whole_days_end, until, tz, splits))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame()
    frame = pd.concat(parts, ignore_index=True)
    keys = ["started", "author", "components"]
    return frame.groupby(keys, sort=False, dropna=False, as_index=False)["seconds"].sum()


def _worklog_sums_query(
    project_key: str,
    since: datetime | None,
    until: datetime,
    bounds: Sequence[datetime],
    *,
    scan_first: bool,
    by_issue: bool = False,
) -> Select[Any]:
    """Seconds per (week bucket, author, the issue's components), summed by the database.

    The same SQL runs everywhere; `scan_first` only changes its shape for SQLite's planner, where
    a million per-row lookups into `issues` cost seconds: the project's issues are materialised
    once (a small table SQLite indexes on the fly), and the join and time filter go through
    `coalesce` so that `worklogs` is scanned once rather than fetched row by row through an
    index. PostgreSQL gets the plain join: there `coalesce` hides the statistics its planner
    needs for a hash join (measured at 1M worklogs: 2.0 s plain, 3.8 s SQLite-shaped).
    """
    w, i = db.worklogs.c, db.issues.c
    bucket = worklog_rollup.bucket_index(w.started, bounds).label("bucket")
    seconds = func.sum(w.seconds).label("seconds")
    after = (w.started >= since) if since else true()
    if not scan_first:
        keys: list[ColumnElement[Any]] = [cast(i.components, Text).label("components")]
        if by_issue:
            keys += [i.issue_type, cast(i.labels, Text).label("labels")]
        return (
            sql_select(bucket, w.author, *keys, seconds)
            .join_from(db.worklogs, db.issues, i.id == w.issue_id)
            .where(
                i.project_key == project_key,
                i.deleted == false(),
                w.deleted == false(),
                w.started < until,
                after,
            )
            .group_by(bucket, w.author, *keys)
        )
    facts: list[ColumnElement[Any]] = [i.id, cast(i.components, Text).label("components")]
    if by_issue:
        facts += [i.issue_type, cast(i.labels, Text).label("labels")]
    project_issues = (
        sql_select(*facts)
        .where(i.project_key == project_key, i.deleted == false())
        .cte("project_issues")
        .prefix_with("MATERIALIZED")
    )
    keys = [c for c in project_issues.c if c.key != "id"]  # type: ignore[misc]
    return (
        sql_select(bucket, w.author, *keys, seconds)
        .select_from(db.worklogs)
        .join(project_issues, project_issues.c.id == func.coalesce(w.issue_id, w.issue_id))
        .where(w.deleted == false(), func.coalesce(w.started, w.started) < until, after)
        .group_by(bucket, w.author, *keys)
    )


def _history_query(table: Any, ids: Select[Any]) -> Select[Any]:
    c = table.c
    return _of_issues(sql_select(c.issue_id, c.from_status, c.to_status, *_plain(c.at)), table, ids)


def _flag_changes_query(ids: Select[Any]) -> Select[Any]:
    c = db.field_changes.c
    # Only the flag's history is needed (for "flagged since" as of a past week).
    query = sql_select(c.issue_id, c.field, c.from_value, c.to_value, *_plain(c.at))
    return _of_issues(query, db.field_changes, ids).where(func.lower(c.field) == "flagged")


def _of_issues(query: Select[Any], table: Any, ids: Select[Any]) -> Select[Any]:
    """`query` of `table` limited to the rows of the issues `ids` selects (a key: each once).

    A join rather than `IN`: SQLite then walks the table's issue index once per issue instead of
    first listing the ids (a third of the time of reading 120,000 transitions); PostgreSQL plans
    both the same.
    """
    issues = ids.subquery("project_issues")
    return query.join_from(table, issues, issues.c.id == table.c.issue_id)


def _links_query(ids: Select[Any], until: datetime) -> Select[Any]:
    link, source = db.links.c, db.issues.alias("source")
    return (
        sql_select(
            link.source_issue_id,
            link.destination_issue_id,
            *_plain(link.created),
            source.c.status_category.label("source_status_category"),
        )
        .outerjoin_from(db.links, source, source.c.id == link.source_issue_id)
        .where(
            link.destination_issue_id.in_(ids),
            func.lower(link.link_type) == "blocks",
            link.deleted == false(),
            link.created < until,
            # a deleted blocker blocks nothing; a source we never mirrored (None) may still
            source.c.deleted.is_(None) | (source.c.deleted == false()),
        )
    )


def _scope_changes_query(project_key: str, until: datetime) -> Select[Any]:
    s, w = db.scope_changes.c, db.worklogs.c
    logged = (
        sql_select(func.coalesce(func.sum(w.seconds), 0))
        .where(w.issue_id == s.issue_id, w.deleted == false(), w.started < until)
        .scalar_subquery()
    )
    # Summed for rejected changes only (see SCHEMAS): a CASE evaluates the subquery only for
    # them, where summing every change's worklogs was a quarter of a second for 3,000 changes.
    rejected_logged = case((s.decision == "rejected", logged), else_=0)
    written = (s.written_version >= s.impact_version) & (s.written_version > 0)
    return sql_select(
        s.issue_id, s.key, s.summary, s.issue_type, *_plain(s.created, s.detected_at), s.hours,
        s.hours_source, s.cost, s.currency, s.schedule_days, s.decision, *_plain(s.decided_at),
        s.withdrawn, case((written, True), else_=False).label("written_back"),
        rejected_logged.label("rejected_logged_seconds"),
    ).where(
        s.project_key == project_key,
        func.coalesce(s.created, s.detected_at) < until,
    )  # fmt: skip


def _growth_query(project_key: str, until: datetime) -> Select[Any]:
    g = db.scope_growth.c
    return sql_select(g.issue_id, g.key, g.from_hours, g.to_hours, *_plain(g.at)).where(
        g.project_key == project_key, g.at < until
    )


def _feedback_query(project_key: str, until: datetime) -> Select[Any]:
    f = db.feedback.c
    return sql_select(f.week, f.happy, f.score, f.comment, *_plain(f.at)).where(
        f.project_key == project_key, f.at < until
    )


def _baseline_items_query(
    conn: Connection, project_key: str, until: datetime
) -> Select[Any] | None:
    b, item = db.baselines.c, db.baseline_items.c
    newest = conn.execute(
        sql_select(b.id)
        .where(b.project_key == project_key, b.captured_at < until)
        .order_by(b.version.desc())
        .limit(1)
    ).scalar()
    if newest is None:
        return None
    return sql_select(
        item.issue_id, item.key, item.issue_type, item.original_estimate_seconds, item.story_points
    ).where(item.baseline_id == newest)
