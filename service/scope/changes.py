"""The `scope_changes` table: the only code that writes it, and the queries the API lists it by.

The engine (flagging, pricing), the decisions and the write-back's done hook all change rows
through here, so the table has one owner and one place that knows its columns.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, false, func, insert, select, update

from service.scope.model import DECISIONS, Invalid, ScopeChange
from service.scope.pricing import round_half_up
from service.store import schema

_sc = schema.scope_changes.c

# Every issue event asks for the changes of its issue: built once, the statement skips
# SQLAlchemy's statement building and cache key on the worker's hot path.
_CHANGES_OF_ISSUE = select(schema.scope_changes).where(_sc.issue_id == bindparam("issue_id"))


def changes_of_issue(conn: Connection, issue_id: str) -> list[ScopeChange]:
    """In every project: an issue moved between projects can have had a change in each."""
    rows = conn.execute(_CHANGES_OF_ISSUE, {"issue_id": issue_id}).mappings()
    return [ScopeChange.from_row(row) for row in rows]


def change_by_key(conn: Connection, project_key: str, issue_key: str) -> ScopeChange | None:
    """By the key we listed it under, else by the mirror's current key (keys change on a move)."""
    row = (
        conn.execute(
            select(schema.scope_changes)
            .where(_sc.project_key == project_key, _sc.key == issue_key)
            .order_by(_sc.withdrawn)
        )
        .mappings()
        .first()
    )
    if row is not None:
        return ScopeChange.from_row(row)
    issue_id = conn.execute(
        select(schema.issues.c.id).where(schema.issues.c.key == issue_key)
    ).scalar()
    if issue_id is None:
        return None
    row = (
        conn.execute(
            select(schema.scope_changes).where(
                _sc.project_key == project_key, _sc.issue_id == str(issue_id)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else ScopeChange.from_row(row)


def insert_change(conn: Connection, values: dict[str, Any]) -> ScopeChange:
    """A new change (every column but the id); the caller has read that there is none.

    A plain insert: the worker's transaction holds the write lock on SQLite, and on PostgreSQL a
    concurrent twin fails on the unique key and its event is retried.
    """
    row = {
        "decision_note": None,
        "decided_at": None,
        "decided_by": None,
        "decision_channel": None,
        "withdrawn": False,
        **values,
    }
    result = conn.execute(insert(schema.scope_changes).values(row))
    (change_id,) = result.inserted_primary_key or (None,)
    return ScopeChange.from_row({"id": change_id, **row})


def update_change(conn: Connection, change: ScopeChange, **values: Any) -> ScopeChange:
    """`change` with `values`, written only where they differ from what it holds."""
    differ = {name: value for name, value in values.items() if getattr(change, name) != value}
    if differ:  # most events (a comment, a status) change nothing here: no write at all
        conn.execute(update(schema.scope_changes).where(_sc.id == change.id).values(**differ))
    return dataclasses.replace(change, **differ)


def mark_written(conn: Connection, change_id: int, version: int) -> None:
    """Jira now shows `version` of the change (never goes back to an older one)."""
    conn.execute(
        update(schema.scope_changes)
        .where(_sc.id == change_id, _sc.written_version < version)
        .values(written_version=version)
    )


# --- reading ------------------------------------------------------------------------------------


def list_changes(
    conn: Connection,
    project_key: str,
    *,
    decision: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """The project's live scope changes as PRODUCT.md's JSON, oldest first.

    `since`/`until` bound the change's `created` (when it entered the project), half-open:
    since <= created < until. Withdrawn changes are left out, as everywhere else.
    """
    if decision is not None and decision not in DECISIONS:
        raise Invalid(f"decision must be one of {', '.join(DECISIONS)}")
    born = func.coalesce(_sc.created, _sc.detected_at)
    query = (
        select(schema.scope_changes)
        .where(_sc.project_key == project_key, _sc.withdrawn == false())
        .order_by(born, _sc.id)
    )
    if decision is not None:
        query = query.where(_sc.decision == decision)
    if since is not None:
        query = query.where(born >= since)
    if until is not None:
        query = query.where(born < until)
    return [ScopeChange.from_row(row).to_json() for row in conn.execute(query).mappings()]


def pending_changes(conn: Connection, project_key: str) -> list[ScopeChange]:
    """The project's changes awaiting the client's decision, in the order they were flagged."""
    query = (
        select(schema.scope_changes)
        .where(_sc.project_key == project_key, _sc.decision == "pending")
        .where(_sc.withdrawn == false())
        .order_by(_sc.detected_at, _sc.id)
    )
    return [ScopeChange.from_row(row) for row in conn.execute(query).mappings()]


def approved_budget_extension(conn: Connection, project_key: str) -> float:
    """What approved changes add to the budget: their cost (unpriced ones add nothing yet)."""
    total = conn.execute(
        select(func.coalesce(func.sum(_sc.cost), 0.0)).where(
            _sc.project_key == project_key, _sc.decision == "approved", _sc.withdrawn == false()
        )
    ).scalar_one()
    return round_half_up(float(total), 2)
