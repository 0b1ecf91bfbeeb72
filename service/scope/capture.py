"""Capturing the agreed scope: every issue of a project, as Jira has it now, as a new baseline.

Jira is read first, page by page, with only the fields a baseline keeps; the database is written
once at the end, in one short transaction, so a capture that fails half-way leaves nothing behind
and never holds the write lock while waiting on Jira. Each capture is a new version per project:
the newest one is what the scope engine compares against.

A capture says "this is the agreed scope": a change still pending whose issue it takes in is
agreed work now, so in the same transaction it is decided `not-scope` (audited, with the
baseline's name in the note) and its flag is queued to come off the ticket. Counted once, as
baseline, never again as a pending change. Approved and rejected changes keep their decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, false, func, insert, select

from mappings.model import Mapping, Project
from reports import formats
from reports.hours import counted_hours, counts_as_scope, hours_of
from service.jira.client import JiraClient
from service.jira.payloads import issue_row
from service.scope.decisions import apply_decision
from service.scope.model import ScopeChange
from service.store.schema import baseline_items, baselines, scope_changes

LARGEST_PAGE = 1000  # Jira lowers it to its own ceiling (Cloud: 100 with fields; DC: 1000)

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class BaselineSummary:
    project_key: str
    version: int
    name: str
    captured_at: datetime
    issues: int
    hours: float  # priced issues only, types in `exclude_types` left out
    unestimated: int  # issues counted as scope that have no hours by any rule
    unflagged: int = 0  # pending changes taken in, now decided not-scope


def capture_fields(mapping: Mapping) -> list[str]:
    """What a baseline needs, and not a field more: pages come back bigger and faster."""
    fields = ["summary", "issuetype", "status", "parent", "timeoriginalestimate", "timetracking"]
    return [*fields, mapping.jira.story_points_field]


def capture_baseline(
    engine: Engine,
    client: JiraClient,
    mapping: Mapping,
    project_key: str,
    *,
    name: str | None = None,
    now: datetime,
    progress: Progress | None = None,
    by: str | None = None,
    channel: str = "cli",
) -> BaselineSummary:
    """Captures the project's issues as a new baseline version; `by` and `channel` are who
    asked and how, for the audit of the pending changes it turns to not-scope."""
    project = mapping.project(project_key)
    if project is None:
        raise ValueError(f"{mapping.source}: no project {project_key!r}")
    items = _read_items(client, mapping, project_key, progress)
    with engine.begin() as conn:
        version = _next_version(conn, project_key)
        # The day as the client's digest and tickets name it: the project's zone and format.
        label = name or f"Baseline v{version} ({formats.date(now, tz=project.digest.tz)})"
        baseline_id = conn.execute(
            insert(baselines)
            .values(project_key=project_key, version=version, name=label, captured_at=now)
            .returning(baselines.c.id)
        ).scalar_one()
        if items:
            conn.execute(
                insert(baseline_items),
                [{**_stored(i), "baseline_id": baseline_id} for i in items],
            )
        taken = {item["issue_id"] for item in items}
        unflagged = _take_in_pending(conn, mapping, project, taken, label, now, by, channel)
    hours = baseline_hours(items, project, mapping)
    return BaselineSummary(
        project_key=project_key,
        version=version,
        name=label,
        captured_at=now,
        issues=len(items),
        hours=round(float(hours.sum()), 1),
        unestimated=int(hours.isna().sum()),
        unflagged=unflagged,
    )


def _take_in_pending(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    taken: set[str],
    name: str,
    now: datetime,
    by: str | None,
    channel: str,
) -> int:
    """Pending changes whose issue the new baseline holds become not-scope; how many did."""
    pending = conn.execute(
        select(scope_changes).where(
            scope_changes.c.project_key == project.key,
            scope_changes.c.decision == "pending",
            scope_changes.c.withdrawn == false(),
        )
    ).mappings()
    changes = [ScopeChange.from_row(row) for row in pending if row["issue_id"] in taken]
    note = f"taken into baseline {name}"
    for change in changes:
        apply_decision(
            conn, mapping, project, change, "not-scope", note, now, channel=channel, by=by
        )
    return len(changes)


def baseline_hours(items: list[dict[str, Any]], project: Project, mapping: Mapping) -> pd.Series:
    """The hours each captured item counts as agreed scope, by issue id (NaN: unpriced), by the
    digest's own rule: excluded types left out, and a parent whose children are priced counting
    its children only (`reports.hours.counted_hours`)."""
    counted = [i for i in items if counts_as_scope(i["issue_type"], project)]
    hours = pd.Series(
        [_hours(i, project, mapping) for i in counted],
        index=[i["issue_id"] for i in counted],
        dtype="float64",
    )
    parents = pd.Series(
        {i["issue_id"]: i["parent_id"] for i in items if i.get("parent_id")}, dtype=object
    )
    return counted_hours(hours, parents)


def _stored(item: dict[str, Any]) -> dict[str, Any]:
    """The columns `baseline_items` keeps (the parent is read from the mirror when needed)."""
    return {k: v for k, v in item.items() if k != "parent_id"}


def list_baselines(conn: Connection, project_key: str) -> list[dict[str, Any]]:
    """Captured baselines of a project, newest first, with how many issues each holds."""
    counts = (
        select(baseline_items.c.baseline_id, func.count().label("issues"))
        .group_by(baseline_items.c.baseline_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            baselines.c.version,
            baselines.c.name,
            baselines.c.captured_at,
            func.coalesce(counts.c.issues, 0).label("issues"),
        )
        .outerjoin(counts, counts.c.baseline_id == baselines.c.id)
        .where(baselines.c.project_key == project_key)
        .order_by(baselines.c.version.desc())
    ).mappings()
    return [dict(row) for row in rows]


def _read_items(
    client: JiraClient, mapping: Mapping, project_key: str, progress: Progress | None
) -> list[dict[str, Any]]:
    # Ordered by key so that paging is stable while people keep working in Jira.
    jql = f'project = "{project_key}" ORDER BY key ASC'
    total = client.count(f'project = "{project_key}"') if progress else None
    items: dict[str, dict[str, Any]] = {}
    for page in client.search_pages(jql, capture_fields(mapping), LARGEST_PAGE):
        for issue in page:
            row = issue_row(issue, mapping)
            if row is not None:
                items[row["id"]] = _item(row)
        if progress:
            progress(len(items), max(total or 0, len(items)) or None)
    return list(items.values())


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "issue_id": row["id"],
        "key": row["key"],
        "issue_type": row["issue_type"],
        "status": row["status"],
        "original_estimate_seconds": row["original_estimate_seconds"],
        "story_points": row["story_points"],
        "parent_id": row.get("parent_id"),
    }


def _next_version(conn: Connection, project_key: str) -> int:
    # Inside the writing transaction: BEGIN IMMEDIATE on SQLite, and the unique constraint on
    # (project_key, version) makes a concurrent capture on PostgreSQL fail rather than collide.
    held = conn.execute(
        select(func.max(baselines.c.version)).where(baselines.c.project_key == project_key)
    ).scalar()
    return int(held or 0) + 1


def _hours(item: dict[str, Any], project: Project, mapping: Mapping) -> float | None:
    estimate, points = item["original_estimate_seconds"], item["story_points"]
    return hours_of(estimate, points, item["issue_type"], project, mapping)[0]
