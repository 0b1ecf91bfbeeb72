"""Catching up with Jira by JQL: changes whose webhooks were missed (downtime, lost deliveries).

A sweep asks Jira for the project's issues updated since the last successful sweep (less a margin)
and applies each one exactly as a webhook would: through the mirror, which keeps only what is newer
than what it holds, then through the scope engine. Each page is one transaction, so a sweep that
fails half-way keeps what it did and the next one starts again from the old cursor. The first
sweep of a project has no cursor and reads the whole project, so the mirror starts complete.

The JQL uses a relative time (`updated >= "-90m"`), not a date: Jira reads JQL dates in the
searching user's time zone, while a relative period means the same instant everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from mappings.model import Mapping
from service.jira.client import SEARCH_PAGE, JiraClient
from service.jira.payloads import dig, parse_time
from service.mirror import apply as mirror
from service.mirror.events import EventContext, apply_snapshot
from service.projects.modes import mark_caught_up
from service.store.engine import reader, upsert
from service.store.schema import kv

# JQL has minute resolution, Cloud's search index lags writes by seconds, and clocks drift.
MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class ReconcileSummary:
    project_key: str
    since: datetime | None  # None: the whole project was read
    swept_at: datetime
    seen: int  # issues Jira returned
    applied: int  # of those, issues that changed the mirror


def cursor_key(project_key: str) -> str:
    return f"reconcile.{project_key}.last"


def mirror_fields(mapping: Mapping) -> list[str]:
    """Every field the mirror reads from an issue (see `service.jira.payloads.issue_row`)."""
    return [
        "project",
        "summary",
        "issuetype",
        "parent",
        "status",
        "assignee",
        "reporter",
        "components",
        "labels",
        "fixVersions",
        "timeoriginalestimate",
        "timetracking",
        "created",
        "updated",
        "resolutiondate",
        "worklog",
        mapping.jira.story_points_field,
        mapping.jira.flagged_field,
    ]


def sweep_jql(project_key: str, since: datetime | None, now: datetime) -> str:
    project = f'project = "{project_key}"'
    if since is None:
        return f"{project} ORDER BY updated ASC"
    minutes = max(1, math.ceil((now - since + MARGIN).total_seconds() / 60))
    return f'{project} AND updated >= "-{minutes}m" ORDER BY updated ASC'


def last_sweep(conn: Connection, project_key: str) -> datetime | None:
    value = conn.execute(select(kv.c.value).where(kv.c.key == cursor_key(project_key))).scalar()
    return datetime.fromisoformat(value) if value else None


def reconcile(
    engine: Engine,
    client: JiraClient,
    mapping: Mapping,
    project_key: str,
    *,
    since: datetime | None,
    now: datetime,
) -> ReconcileSummary:
    if since is None:
        with reader(engine) as conn:
            since = last_sweep(conn, project_key)
    seen = applied = 0
    jql = sweep_jql(project_key, since, now)
    # The changelog tells when each issue's status and flag began, which a blocker's age needs.
    for page in client.search_pages(jql, mirror_fields(mapping), SEARCH_PAGE, changelog=True):
        issues = [_with_all_worklogs(client, issue) for issue in page]  # HTTP before the lock
        with engine.begin() as conn:
            # The same per-issue locks as the worker's, so the two never interleave one issue.
            mirror.lock_issues(conn, (str(issue.get("id", "")) for issue in issues))
            ctx = EventContext(conn=conn, mapping=mapping, now=now)
            for issue in issues:
                seen += 1
                applied += _apply(ctx, issue)
    with engine.begin() as conn:
        # The sweep's start, not its end: whatever changed during it is caught by the next one.
        upsert(conn, kv, {"key": cursor_key(project_key), "value": now.isoformat()}, key=["key"])
        # A finished sweep (the first one reads the whole project) means the mirror has caught up:
        # the project's digest may now be built from it.
        mark_caught_up(conn, [project_key], now)
    return ReconcileSummary(project_key, since, now, seen, applied)


def _apply(ctx: EventContext, issue: dict[str, Any]) -> bool:
    """Mirror then scope, as the webhook path does; True when the mirror changed."""
    updated = parse_time(dig(issue, "fields", "updated"))
    # Jira's `updated` stands in for a delivery's timestamp: a webhook about the same state
    # carries a timestamp at or after it, so the mirror never takes this sweep's copy over it.
    event_ts_ms = int(updated.timestamp() * 1000) if updated else 0
    issue_id, previous = apply_snapshot(ctx, issue, event_ts_ms)
    return issue_id is not None and mirror.get_issue(ctx.conn, issue_id) != previous


def _with_all_worklogs(client: JiraClient, issue: dict[str, Any]) -> dict[str, Any]:
    embedded = dig(issue, "fields", "worklog")
    if not isinstance(embedded, dict):
        return issue
    total = int(embedded.get("total") or 0)
    if total <= len(embedded.get("worklogs") or []):
        return issue
    worklogs = client.worklogs(str(issue["id"]))
    fields = {**issue["fields"], "worklog": {**embedded, "worklogs": worklogs}}
    return {**issue, "fields": fields}
