"""`scope reprice`: pending scope changes priced again at the rates in force today, on purpose.

A change keeps the rate it was priced at (`scope.prices`); when rates change, the pending ones
move only through here: each whose price differs gets a new impact version (with the rates it
used) and one write-back, which edits its one Jira comment. Approved changes keep the price the
client agreed; rejected, not-scope and withdrawn ones are left as they are.

A parent's change also moves when its children do (`reprice_parents`): the engine and the
decisions call it, so an epic flagged before its stories is re-priced as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from mappings.model import Mapping, Project
from reports.hours import MAX_DEPTH
from reports.rates import local_day
from service.scope.baseline import Baseline, current_baseline
from service.scope.changes import changes_of_issue, update_change
from service.scope.model import ScopeChange
from service.scope.parents import scope_hours_for
from service.scope.prices import latest_price, record_price
from service.scope.pricing import Impact, IssueFacts, price
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
        issue = _issue(conn, change.issue_id)
        if issue is None:
            continue
        hours = scope_hours_for(conn, mapping, project, baseline, issue)
        impact = price(hours, issue.assignee, project, mapping, day)
        updated = reprice_change(conn, mapping, project, baseline, change, issue, impact, now)
        if updated is None:
            continue
        assert impact.hour_rate is not None
        rate = str(impact.hour_rate.billing)
        done.append(Repriced(change.key, change.cost, impact.cost, rate, updated.impact_version))
    return done


def reprice_parents(
    conn: Connection,
    mapping: Mapping,
    parent_ids: Iterable[str | None],
    now: datetime,
    baselines: dict[str, Baseline] | None = None,
) -> None:
    """A child came, went, changed its price or its decision: its parents' changes (and theirs,
    up the tree) are priced again by the parent rule (`service.scope.parents`), each at the rate
    it was priced at. One whose price moves gets a new impact version and one write-back, which
    edits its one comment; an approved price stays as the client agreed it."""
    seen: set[str] = set()
    frontier = [i for i in parent_ids if i]
    for _ in range(MAX_DEPTH):
        ups: list[str] = []
        for issue_id in frontier:
            if issue_id in seen:
                continue  # a loop in bad data
            seen.add(issue_id)
            issue = _issue(conn, issue_id)
            if issue is None or issue.deleted:
                continue
            _reprice_parent(conn, mapping, issue, now, baselines)
            if issue.parent_id:
                ups.append(issue.parent_id)
        if not ups:
            return
        frontier = ups


def reprice_parents_of(conn: Connection, mapping: Mapping, issue_id: str, now: datetime) -> None:
    """`reprice_parents` for the parent of `issue_id` (a decision on it moved what it carries)."""
    issue = _issue(conn, issue_id)
    if issue is not None:
        reprice_parents(conn, mapping, [issue.parent_id], now)


def _reprice_parent(
    conn: Connection,
    mapping: Mapping,
    issue: IssueFacts,
    now: datetime,
    baselines: dict[str, Baseline] | None,
) -> None:
    project = mapping.project(issue.project_key)
    change = next(
        (
            c
            for c in changes_of_issue(conn, issue.id)
            if project is not None and c.project_key == project.key and not c.withdrawn
        ),
        None,
    )
    if project is None or change is None or change.decision not in ("pending", "rejected"):
        return  # approved: the agreed price is frozen; not-scope: nothing priced on the ticket
    baseline = current_baseline(conn, project, baselines)
    last_price = latest_price(conn, change.id)
    kept = last_price.rate if last_price and last_price.assignee == issue.assignee else None
    hours = scope_hours_for(conn, mapping, project, baseline, issue)
    day = local_day(now, project)
    impact = price(hours, issue.assignee, project, mapping, day, rate=kept)
    reprice_change(conn, mapping, project, baseline, change, issue, impact, now)


def reprice_change(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    baseline: Baseline,
    change: ScopeChange,
    issue: IssueFacts,
    impact: Impact,
    now: datetime,
) -> ScopeChange | None:
    """`change` at `impact`: a new impact version, its rates, one write-back (which edits its
    comment). None, and nothing written, when the client would see the same price."""
    if (impact.hours, impact.hours_source, impact.cost, impact.schedule_days) == (
        change.hours,
        change.hours_source,
        change.cost,
        change.schedule_days,
    ):
        return None  # the same price: nothing for the client to see, no new version
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
    day = local_day(now, project)
    record_price(
        conn, change.id, version, impact, assignee=issue.assignee, priced_at=now, priced_on=day
    )
    enqueue_writeback(conn, mapping, project, baseline, updated, now)  # edits its comment
    return updated


def _issue(conn: Connection, issue_id: str) -> IssueFacts | None:
    found = (
        conn.execute(select(schema.issues).where(schema.issues.c.id == issue_id)).mappings().first()
    )
    return None if found is None else IssueFacts.from_row(found)
