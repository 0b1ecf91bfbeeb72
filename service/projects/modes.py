"""Observe or live: whether scopewatch may write to a project's Jira and mail its client.

A project scopewatch has never run live for is in observe mode: it mirrors, flags, prices and
builds digests, but its outbox jobs wait and its digest goes to the PM addresses as a preview.
`go_live` switches it (audited: who, when), after which the waiting writes go out once; `pause`
goes back. No row means observe, so a new project in the mapping can never write by surprise.

This package writes `projects` and `project_mode_changes`. It also records when the mirror first
caught up with the project (the first full reconcile finished), which the digest waits for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from service.store.engine import insert_ignore
from service.store.schema import project_mode_changes, projects

OBSERVE = "observe"
LIVE = "live"
MODES = (OBSERVE, LIVE)


@dataclass(frozen=True)
class ProjectState:
    key: str
    mode: str
    caught_up_at: datetime | None
    changed_at: datetime | None
    changed_by: str | None


def state(conn: Connection, key: str) -> ProjectState:
    row = conn.execute(select(projects).where(projects.c.key == key)).first()
    if row is None:
        return ProjectState(key, OBSERVE, None, None, None)
    return ProjectState(row.key, row.mode, row.caught_up_at, row.changed_at, row.changed_by)


def is_live(conn: Connection, key: str) -> bool:
    return state(conn, key).mode == LIVE


def live_projects(conn: Connection) -> set[str]:
    rows = conn.execute(select(projects.c.key).where(projects.c.mode == LIVE)).scalars()
    return set(rows)


def live_keys_query() -> Any:
    """A subquery of the live projects' keys, for callers that filter in SQL (the outbox)."""
    return select(projects.c.key).where(projects.c.mode == LIVE)


def set_mode(conn: Connection, key: str, mode: str, *, by: str, now: datetime) -> bool:
    """Switch a project to `mode`, audited; False when it already was in it (nothing recorded)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    _ensure(conn, key)
    changed = conn.execute(
        update(projects)
        .where(projects.c.key == key, projects.c.mode != mode)
        .values(mode=mode, changed_at=now, changed_by=by)
    )
    if changed.rowcount != 1:
        return False
    conn.execute(
        insert(project_mode_changes).values(
            project_key=key, mode=mode, changed_by=by, changed_at=now
        )
    )
    return True


def mode_changes(conn: Connection, key: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(project_mode_changes)
        .where(project_mode_changes.c.project_key == key)
        .order_by(project_mode_changes.c.id)
    ).mappings()
    return [{"mode": r["mode"], "by": r["changed_by"], "at": r["changed_at"]} for r in rows]


def went_live_at(conn: Connection, key: str) -> datetime | None:
    """When the project last went live, while it is live; None otherwise."""
    current = state(conn, key)
    return current.changed_at if current.mode == LIVE else None


def mark_caught_up(conn: Connection, keys: Iterable[str], now: datetime) -> None:
    """The mirror holds everything Jira had for these projects at `now` (a full sweep ended).

    Only the first time is kept: that is when the project's digest may start.
    """
    for key in keys:
        _ensure(conn, key)
        conn.execute(
            update(projects)
            .where(projects.c.key == key, projects.c.caught_up_at.is_(None))
            .values(caught_up_at=now)
        )


def _ensure(conn: Connection, key: str) -> None:
    insert_ignore(conn, projects, {"key": key, "mode": OBSERVE}, conflict=["key"])
