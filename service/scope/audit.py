"""The audit trail of decisions: every decision on a scope change as it was taken.

The only code that writes `scope_decisions`. A row says who decided, when, through which channel
(a label in Jira, the admin API, the CLI, the cockpit, the client's e-mail link), from which
decision to which, and the note. `scope_changes` holds the decision in force; this holds how it
got there, including decisions later taken back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, insert, select

from service.scope.model import ScopeChange
from service.store import schema

Channel = Literal["jira", "api", "cli", "web", "email"]
CHANNELS: tuple[Channel, ...] = ("jira", "api", "cli", "web", "email")

_d = schema.scope_decisions.c


def record_decision(
    conn: Connection,
    change: ScopeChange,
    to_decision: str,
    *,
    at: datetime,
    channel: str,
    by: str | None,
    note: str | None,
) -> None:
    """One decision on `change` (as it was before it), in the caller's transaction."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown decision channel {channel!r}")
    conn.execute(
        insert(schema.scope_decisions).values(
            change_id=change.id,
            project_key=change.project_key,
            issue_key=change.key,
            from_decision=change.decision,
            to_decision=to_decision,
            channel=channel,
            decided_by=by,
            note=note,
            at=at,
        )
    )


def decision_trail(conn: Connection, change_id: int) -> list[dict[str, Any]]:
    """The decisions on one change, oldest first."""
    query = select(schema.scope_decisions).where(_d.change_id == change_id)
    return [dict(row) for row in conn.execute(query.order_by(_d.at, _d.id)).mappings()]


def project_trail(conn: Connection, project_key: str) -> list[dict[str, Any]]:
    """Every decision in a project, oldest first."""
    query = select(schema.scope_decisions).where(_d.project_key == project_key)
    return [dict(row) for row in conn.execute(query.order_by(_d.at, _d.id)).mappings()]
