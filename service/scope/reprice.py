"""`scope reprice`: pending scope changes priced again at the rates in force today, on purpose.

A change keeps the rate it was priced at (`scope.prices`); when rates change, the pending ones
move only through here: each whose price differs gets a new impact version (with the rates it
used) and one write-back, which edits its one Jira comment. Approved changes keep the price the
client agreed; rejected, not-scope and withdrawn ones are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from mappings.model import Mapping, Project
from reports.rates import local_day
from service.scope.baseline import current_baseline
from service.scope.changes import update_change
from service.scope.model import ScopeChange
from service.scope.prices import record_price
from service.scope.pricing import IssueFacts, hours_for, price
from service.scope.writeback import enqueue_writeback
from service.store import schema


@dataclass(frozen=True)
class Repriced:
    key: str
    old_cost: float | None
    new_cost: float | None
    rate: str  # the billing rate now used, exact text
    version: int


def reprice_pending(
    conn: Connection, mapping: Mapping, project: Project, now: datetime
) -> list[Repriced]:
    """Re-prices the project's pending changes at today's rates (in the project's zone)."""
    sc = schema.scope_changes.c
    rows = conn.execute(
        select(schema.scope_changes)
        .where(sc.project_key == project.key, sc.decision == "pending", sc.withdrawn.is_(False))
        .order_by(sc.id)
    ).mappings()
    changes = [ScopeChange.from_row(row) for row in rows]
    baseline = current_baseline(conn, project)
    day = local_day(now, project)
    done: list[Repriced] = []
    for change in changes:
        found = (
            conn.execute(select(schema.issues).where(schema.issues.c.id == change.issue_id))
            .mappings()
            .first()
        )
        if found is None:
            continue
        issue = IssueFacts.from_row(found)
        impact = price(hours_for(issue, project, mapping), issue.assignee, project, mapping, day)
        if (impact.hours, impact.cost, impact.schedule_days) == (
            change.hours,
            change.cost,
            change.schedule_days,
        ):
            continue  # the same price: nothing for the client to see, no new version
        version = change.impact_version + 1
        updated = update_change(
            conn,
            change,
            hours=impact.hours,
            hours_source=impact.hours_source,
            cost=impact.cost,
            schedule_days=impact.schedule_days,
            impact_version=version,
        )
        record_price(
            conn, change.id, version, impact, assignee=issue.assignee, priced_at=now, priced_on=day
        )
        enqueue_writeback(conn, mapping, project, baseline, updated, now)  # edits its comment
        assert impact.hour_rate is not None
        rate = str(impact.hour_rate.billing)
        done.append(Repriced(change.key, change.cost, impact.cost, rate, version))
    return done
