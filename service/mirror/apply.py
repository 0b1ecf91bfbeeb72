"""The local mirror of Jira: issues, history, worklogs, comments and links, newest state wins.

Every function takes an open connection inside the worker's transaction, so a mirror update and the
inbox row it came from commit together. Events arrive late, twice and out of order: a record changes
only when the event is newer than what we hold (the delivery `timestamp` for issues, the worklog's
`updated` for worklogs), and deletions leave tombstones that no late update can bring back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, false, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from mappings.model import Mapping
from service.jira.payloads import (
    dig,
    issue_row,
    last_change_times,
    parse_time,
    person,
    worklog_row,
)
from service.mirror import rollup as worklog_rollup
from service.mirror.batch import Batch
from service.store import schema
from service.store.driver import insert_ignore_returning
from service.store.engine import insert_ignore, upsert

# Changelog fields we keep history of, by Jira's `field` name (fieldId is absent on old servers).
TRACKED_FIELDS = {
    "timeoriginalestimate",
    "Story Points",
    "Story point estimate",
    "Flagged",
    "project",
    "assignee",
    "labels",
    "Key",
}


def lock_issues(conn: Connection, issue_ids: Iterable[str | None]) -> None:
    """Advisory locks, until the transaction ends, on these issues (PostgreSQL only).

    Changes to an issue and its worklogs read what is held before they write (the worklog
    roll-up moves by the difference), so two workers must not apply them at the same time.
    Taken in one sorted sweep before any change, so two workers cannot deadlock on them. SQLite
    needs none: it has one writer at a time.
    """
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(i) for i in issue_ids if i})
    if keys:
        conn.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(k)) FROM "
                "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS t(k) ORDER BY k) AS sorted"
            ),
            {"keys": keys},
        )


def lock_free_issues(conn: Connection, issue_ids: Iterable[str | None]) -> set[str]:
    """Take the locks of `lock_issues` without waiting; returns the issues another transaction
    holds (none on SQLite).

    The worker leaves events about those for a later batch rather than wait: a batch holds its
    locks until it commits, so waiting would make two workers take turns whenever their batches
    share one issue of hundreds, which on PostgreSQL halved their throughput.
    """
    if conn.dialect.name != "postgresql":
        return set()
    by_key = {_lock_key(i): i for i in issue_ids if i}
    if not by_key:
        return set()
    busy = conn.execute(
        text(
            "SELECT k FROM unnest(CAST(:keys AS bigint[])) AS t(k)"
            " WHERE NOT pg_try_advisory_xact_lock(k)"
        ),
        {"keys": sorted(by_key)},
    ).scalars()
    return {by_key[k] for k in busy}


def _lock_key(issue_id: str) -> int:
    digest = hashlib.blake2b(f"scopewatch.issue:{issue_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# Read twice per issue event: built once, it skips SQLAlchemy's statement building and cache key
# (half of the read's cost; most of the rest is turning the row's columns into Python values).
_ISSUE_BY_ID = select(schema.issues).where(schema.issues.c.id == bindparam("issue_id"))


def get_issue(conn: Connection, issue_id: str) -> dict[str, Any] | None:
    row = conn.execute(_ISSUE_BY_ID, {"issue_id": issue_id}).mappings().first()
    return dict(row) if row else None


_UNREAD: Any = object()


def apply_issue(
    conn: Connection,
    mapping: Mapping,
    issue: dict[str, Any],
    event_ts_ms: int,
    held: dict[str, Any] | None = _UNREAD,
    batch: Batch | None = None,
) -> str | None:
    """Apply an issue snapshot if it is newer than ours; returns its id (None if unusable).

    `held` is the mirror's row for it when the caller has read it already (None: not mirrored).
    """
    batch = batch or Batch()
    row = issue_row(issue, mapping)
    if row is None:
        return None
    if held is _UNREAD or (held is not None and held["id"] != row["id"]):
        held = get_issue(conn, row["id"])
    if held is not None and (held["deleted"] or held["event_ts"] >= event_ts_ms):
        return row["id"]
    at = _at(event_ts_ms)
    row.update(_derived_times(row, held, at), event_ts=event_ts_ms, deleted=False)
    # A history, when the source embeds one, knows better than "when we first saw it".
    for column, since in last_change_times(issue, mapping.jira.flagged_field).items():
        if column == "status_since" or row["flagged"]:
            row[column] = since
    upsert(conn, schema.issues, row, key=["id"], newer="event_ts")
    worklog_rollup.issue_changed(
        conn,
        worklog_rollup.zones(mapping),
        row["id"],
        before=worklog_rollup.issue_facts(held),
        after=worklog_rollup.issue_facts(row),
        pending=batch.rollup,
    )
    _remember_versions(conn, row, batch)
    fields = issue.get("fields") or {}
    remember_people(conn, [fields.get("assignee"), fields.get("reporter")], batch)
    apply_embedded_worklogs(conn, mapping, issue, row["id"], batch)
    return row["id"]


def remember_people(conn: Connection, users: list[Any], batch: Batch) -> None:
    # The same few people appear on every event: write each name once per batch.
    known = batch.people
    for user in users:
        found = person(user)
        if found and known.get(found["id"]) != found["display_name"]:
            upsert(conn, schema.people, found, key=["id"])
            known[found["id"]] = found["display_name"]


def apply_embedded_worklogs(
    conn: Connection, mapping: Mapping, issue: dict[str, Any], issue_id: str, batch: Batch
) -> None:
    """Worklogs inside an issue (REST answers; Data Center's `jira:worklog_updated` events).

    Jira embeds at most 20; whoever fetched the issue pages the rest with the worklog API.
    """
    for worklog in dig(issue, "fields", "worklog", "worklogs", default=[]):
        row = worklog_row(worklog, issue_id) if isinstance(worklog, dict) else None
        if row:
            apply_worklog(conn, mapping, row, batch=batch)
            remember_people(conn, [worklog.get("author")], batch)


def _derived_times(
    row: dict[str, Any], held: dict[str, Any] | None, at: datetime
) -> dict[str, Any]:
    """When the current status, flag and project began: kept from the held row unless changed."""
    if held is None:
        return {
            "status_since": row["created"] or at,
            "flagged_since": (row["created"] or at) if row["flagged"] else None,
            "moved_in_at": None,
        }
    return {
        "status_since": held["status_since"] if held["status"] == row["status"] else at,
        "flagged_since": (held["flagged_since"] or at) if row["flagged"] else None,
        "moved_in_at": at if held["project_key"] != row["project_key"] else held["moved_in_at"],
    }


def _remember_versions(conn: Connection, row: dict[str, Any], batch: Batch) -> None:
    # Every issue of a release names the same version: write it only when it changed, so that
    # two workers do not queue on one row lock for nothing.
    known = batch.versions
    for version in row["fix_versions"]:
        if not version.get("id"):
            continue
        seen = (
            row["project_key"],
            version["name"],
            version.get("releaseDate"),
            bool(version.get("released")),
        )
        if known.get(version["id"]) == seen:
            continue
        known[version["id"]] = seen
        release = version.get("releaseDate")
        upsert(
            conn,
            schema.versions,
            {
                "id": version["id"],
                "project_key": row["project_key"],
                "name": version["name"],
                "release_date": date.fromisoformat(release) if release else None,
                "released": bool(version.get("released")),
            },
            key=["id"],
        )


def record_changelog(
    conn: Connection, issue_id: str, items: list[dict[str, Any]], at: datetime
) -> None:
    """History is additive and idempotent: an old event still adds its transitions."""
    for item in items:
        field = str(item.get("field") or item.get("fieldId") or "")
        if field == "status":
            insert_ignore(
                conn,
                schema.transitions,
                {
                    "issue_id": issue_id,
                    "from_status": item.get("fromString"),
                    "to_status": item.get("toString") or "",
                    "at": at,
                },
            )
        elif field in TRACKED_FIELDS or str(item.get("fieldId", "")).startswith("customfield_"):
            insert_ignore(
                conn,
                schema.field_changes,
                {
                    "issue_id": issue_id,
                    "field": field,
                    "from_value": _change_value(item, "from"),
                    "to_value": _change_value(item, "to"),
                    "at": at,
                },
            )


def _change_value(item: dict[str, Any], side: str) -> str | None:
    value = item.get(side)
    if value in (None, ""):
        value = item.get(f"{side}String")
    return None if value in (None, "") else str(value)


def delete_issue(
    conn: Connection,
    mapping: Mapping,
    issue: dict[str, Any],
    event_ts_ms: int,
    batch: Batch | None = None,
) -> str | None:
    """A tombstone: the row stays, marked deleted, so that a late update cannot revive it."""
    pending = batch.rollup if batch else None
    row = issue_row(issue, mapping)
    issue_id = str(issue.get("id") or "")
    if not issue_id:
        return None
    held = get_issue(conn, issue_id)
    if held is None:
        if row is None:
            return None
        row.update(status_since=row["created"], flagged_since=None, moved_in_at=None)
        upsert(conn, schema.issues, {**row, "deleted": True, "event_ts": event_ts_ms}, key=["id"])
    else:
        conn.execute(
            update(schema.issues)
            .where(schema.issues.c.id == issue_id)
            .values(deleted=True, event_ts=max(event_ts_ms, held["event_ts"]))
        )
        # A deleted issue's worklogs count nowhere.
        zones = worklog_rollup.zones(mapping)
        before = worklog_rollup.issue_facts(held)
        worklog_rollup.issue_changed(
            conn, zones, issue_id, before=before, after=None, pending=pending
        )
    return issue_id


def apply_worklog(
    conn: Connection,
    mapping: Mapping,
    row: dict[str, Any],
    *,
    deleted: bool = False,
    batch: Batch | None = None,
) -> None:
    """Newer `updated` wins and a deletion is final; the roll-up moves by the difference.

    Most worklog events are new worklogs: one INSERT tells so, and only a worklog we hold
    already costs a read and an update.
    """
    new = {**row, "deleted": deleted}
    held = None
    if insert_ignore_returning(conn, schema.worklogs, new, "id") is None:
        held = _held_worklog(conn, row["id"])
        if not _worklog_wins(held, row, deleted):
            return
        # The update repeats the test above, so that the row never goes back even if it were wrong.
        conn.execute(_worklog_update(conn.dialect.name), new)
    zones = worklog_rollup.zones(mapping)
    pending = batch.rollup if batch else None
    worklog_rollup.worklog_changed(conn, zones, row["issue_id"], held, new, pending)


def _worklog_wins(held: dict[str, Any] | None, row: dict[str, Any], deleted: bool) -> bool:
    if held is None:
        return True
    if held["deleted"]:
        return False  # a tombstone is final
    return deleted or held["updated"] < row["updated"]


def _held_worklog(conn: Connection, worklog_id: str) -> dict[str, Any] | None:
    w = schema.worklogs.c
    found = (
        conn.execute(
            select(w.author, w.started, w.seconds, w.updated, w.deleted).where(w.id == worklog_id)
        )
        .mappings()
        .first()
    )
    return dict(found) if found else None


@lru_cache(maxsize=4)
def _worklog_update(dialect_name: str) -> Any:
    """INSERT of a whole worklog row that replaces the held one only if it wins."""
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    table = schema.worklogs
    stmt = dialect.insert(table).values({c.name: bindparam(c.name) for c in table.columns})
    held = table.c
    return stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != "id"},
        where=(held.deleted == false())
        & (stmt.excluded.deleted | (held.updated < stmt.excluded.updated)),
    )


def apply_comment(conn: Connection, row: dict[str, Any], *, deleted: bool = False) -> None:
    held = conn.execute(
        select(schema.comments.c.updated, schema.comments.c.deleted).where(
            schema.comments.c.id == row["id"]
        )
    ).first()
    if held is not None and (
        held.deleted
        or (not deleted and held.updated and row["updated"] and held.updated >= row["updated"])
    ):
        return
    upsert(conn, schema.comments, {**row, "deleted": deleted}, key=["id"])


def apply_link(conn: Connection, row: dict[str, Any], *, deleted: bool = False) -> None:
    held = conn.execute(
        select(schema.links.c.deleted).where(schema.links.c.id == row["id"])
    ).first()
    if held is not None and held.deleted:
        return
    if held is None:
        insert_ignore(conn, schema.links, {**row, "deleted": deleted})
    elif deleted:
        conn.execute(
            update(schema.links).where(schema.links.c.id == row["id"]).values(deleted=True)
        )


def _at(event_ts_ms: int) -> datetime:
    at = parse_time(event_ts_ms)
    assert at is not None
    return at
