"""The scope engine: flags new scope as the mirror changes, prices it, and queues the Jira marks.

`evaluate_issue` runs inside the worker's transaction, right after the mirror took an event, so the
mirror, the scope change and its outbox job commit together. It is idempotent: replaying an event
finds the same impact and enqueues nothing (and the job's dedupe key would refuse it anyway).

Lifecycle of a change, as a client sees it:
- flagged once, priced, and marked in Jira (label, impact fields, one comment, the property);
- re-priced while pending or rejected when its estimate changes: a new `impact_version` and one
  job that edits the same comment (found by its marker) instead of posting another;
- decided by the approved/rejected label in Jira or by the API (`service.scope.decisions`);
- once approved with a price, it has joined the baseline: its price is frozen (the client agreed
  to that figure and the budget grew by it), and a later raise is recorded as scope growth;
- withdrawn when its issue is deleted or moved to another project: the work left, nobody can
  decide on it, and reports leave it out. Jira needs no write for that, and marks still queued
  for it are dropped.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from mappings.model import Mapping, Project
from reports.rates import local_day
from service.scope.audit import record_decision
from service.scope.baseline import (
    Baseline,
    baseline_members,
    current_baseline,
    growth,
    is_growth_candidate,
    is_scope_change,
)
from service.scope.changes import changes_of_issue, insert_change, update_change
from service.scope.decisions import label_decision
from service.scope.model import ScopeChange
from service.scope.parents import scope_hours_for
from service.scope.prices import latest_price, record_price
from service.scope.pricing import Impact, IssueFacts, hours_for, price, round_half_up
from service.scope.reprice import reprice_parents
from service.scope.writeback import cancel_writebacks, enqueue_writeback
from service.store import schema
from service.store.engine import insert_ignore

log = logging.getLogger(__name__)

# What a client would see change on the ticket; a change in any of them is a new impact version.
IMPACT_COLUMNS = ("hours", "hours_source", "cost", "schedule_days", "decision")

# The mirror's row of the issue. Read here rather than through `service.mirror`, which calls
# this engine: reading a table needs no owner, and the packages stay one-way.
_ISSUE_BY_ID = select(schema.issues).where(schema.issues.c.id == bindparam("issue_id"))


def evaluate_issue(
    conn: Connection,
    mapping: Mapping,
    issue_id: str,
    now: datetime,
    previous: dict[str, Any] | None = None,
    *,
    baselines: dict[str, Baseline] | None = None,
    actor: str | None = None,
) -> None:
    """Flags, re-prices, decides or withdraws after the mirror row of `issue_id` changed.

    `previous` is the mirror row as it was before this event (None when the issue is new): label
    decisions and estimate growth are both about what changed. `baselines` holds the baseline
    of each project already read in this batch (the worker's); without it, each call reads it.
    `actor` is who made the change in Jira (the webhook's user), for the audit of a label decision.
    """
    # Every event of every issue comes through here, inside the worker's write transaction:
    # the common paths cost a handful of small queries.
    found = conn.execute(_ISSUE_BY_ID, {"issue_id": issue_id}).mappings().first()
    if found is None:
        return
    _evaluate(conn, mapping, IssueFacts.from_row(found), now, previous, baselines, actor)
    if _may_move_parents(found, previous):
        # A parent priced before its children came (an epic, then its stories) is priced by
        # them now; and the parent an issue left may carry its own price again.
        before = None if previous is None else previous.get("parent_id")
        reprice_parents(conn, mapping, [found["parent_id"], before], now, baselines)


# What a child carries of its parent depends on these; any other edit leaves parents alone.
_CARRYING_COLUMNS = (
    "parent_id",
    "project_key",
    "issue_type",
    "original_estimate_seconds",
    "story_points",
    "labels",  # a decision label on the child
    "deleted",
)


def _may_move_parents(found: Any, previous: dict[str, Any] | None) -> bool:
    if not found["parent_id"] and (previous is None or not previous.get("parent_id")):
        return False
    return previous is None or any(found[c] != previous.get(c) for c in _CARRYING_COLUMNS)


def _evaluate(
    conn: Connection,
    mapping: Mapping,
    issue: IssueFacts,
    now: datetime,
    previous: dict[str, Any] | None,
    baselines: dict[str, Baseline] | None,
    actor: str | None,
) -> None:
    changes = _withdraw_left_behind(conn, issue, changes_of_issue(conn, issue.id), now)
    project = mapping.project(issue.project_key)
    if issue.deleted or project is None:
        return
    baseline = current_baseline(conn, project, baselines)
    change = next((c for c in changes if c.project_key == project.key), None)
    if change is not None:
        # Moved out and back in again: the same change comes back rather than a second one,
        # and its marks are written again (the queued ones were dropped when it left).
        back = change.withdrawn
        if back:
            change = update_change(conn, change, withdrawn=False)
        _follow_change(
            conn, mapping, project, baseline, issue, change, previous, now, back, actor=actor
        )
        return
    # Only a sub-task's parent, and with a snapshot the issue itself, can be a baseline member.
    asked = [issue.parent_id if issue.is_subtask else None, issue.id if baseline.captured else None]
    members = baseline_members(conn, baseline, project, asked)
    verdict = is_scope_change(issue, project, baseline, members)
    if verdict.flag:
        _open_change(conn, mapping, project, baseline, issue, previous, now, actor=actor)
        log.info("scope change %s: %s", issue.key, verdict.reason)
    elif is_growth_candidate(issue, project, baseline, members):
        _record_growth(conn, mapping, project, issue, previous, now)


def _open_change(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    baseline: Baseline,
    issue: IssueFacts,
    previous: dict[str, Any] | None,
    now: datetime,
    *,
    actor: str | None = None,
) -> None:
    day = local_day(now, project)
    hours = scope_hours_for(conn, mapping, project, baseline, issue)
    impact = price(hours, issue.assignee, project, mapping, day)
    decided = label_decision(issue, previous, mapping.jira)
    values: dict[str, Any] = {
        "project_key": project.key,
        "issue_id": issue.id,
        **_issue_columns(issue),
        "detected_at": now,
        **_impact_columns(impact),
        "decision": decided[0] if decided else "pending",
        "impact_version": 1,
        "written_version": 0,
    }
    if decided:
        values.update(
            decided_at=issue.updated or now,
            decision_note=f"label {decided[1]} in Jira",
            decision_channel="jira",
            decided_by=actor,
        )
    change = insert_change(conn, values)
    if decided:
        flagged = dataclasses.replace(change, decision="pending")
        _audit_label(conn, flagged, change)
    record_price(conn, change.id, 1, impact, assignee=issue.assignee, priced_at=now, priced_on=day)
    enqueue_writeback(conn, mapping, project, baseline, change, now)


def _follow_change(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    baseline: Baseline,
    issue: IssueFacts,
    change: ScopeChange,
    previous: dict[str, Any] | None,
    now: datetime,
    rewrite: bool = False,
    *,
    actor: str | None = None,
) -> None:
    """An issue already flagged changed: keep the listing current, re-price, take a decision."""
    values: dict[str, Any] = _issue_columns(issue)
    decided = label_decision(issue, previous, mapping.jira)
    if previous is None and change.decision != "pending":
        decided = None  # without the row before, an old label is no news about a decided change
    decision = decided[0] if decided else change.decision
    if decided and decision != change.decision:
        values.update(
            decision=decision,
            decided_at=issue.updated or now,
            decision_note=f"label {decided[1]} in Jira",
            decision_channel="jira",
            decided_by=actor,
        )
    impact: Impact | None = None
    if _price_frozen(change, decision):
        _record_growth(conn, mapping, project, issue, previous, now)
    else:
        # The rate it was priced at stays its rate; a new assignee brings their rate of today.
        last_price = latest_price(conn, change.id)
        kept = last_price.rate if last_price and last_price.assignee == issue.assignee else None
        hours = scope_hours_for(conn, mapping, project, baseline, issue)
        day = local_day(now, project)
        impact = price(hours, issue.assignee, project, mapping, day, rate=kept)
        values.update(_impact_columns(impact))
    new_impact = {column: values.get(column, getattr(change, column)) for column in IMPACT_COLUMNS}
    bumped = rewrite or new_impact != {column: getattr(change, column) for column in IMPACT_COLUMNS}
    if bumped:
        values["impact_version"] = change.impact_version + 1
    before = change
    change = update_change(conn, change, **values)
    if change.decision != before.decision:
        _audit_label(conn, before, change)
    if bumped and impact is not None:
        record_price(
            conn,
            change.id,
            change.impact_version,
            impact,
            assignee=issue.assignee,
            priced_at=now,
            priced_on=local_day(now, project),
        )
    if bumped:
        enqueue_writeback(conn, mapping, project, baseline, change, now)


def _price_frozen(change: ScopeChange, decision: str) -> bool:
    """An approved, priced change is part of the agreed scope: its price no longer moves. Nor
    does a change judged agreed work (`not-scope`): it has no price on the ticket to keep
    current, and a raise of its estimate is growth of the agreed scope."""
    if change.decision == "not-scope" and decision == "not-scope":
        return True
    return change.decision == "approved" and decision == "approved" and change.hours is not None


def _audit_label(conn: Connection, before: ScopeChange, after: ScopeChange) -> None:
    """A decision read from a label added in Jira, into the audit trail."""
    record_decision(
        conn,
        before,
        after.decision,
        at=after.decided_at or after.detected_at,
        channel="jira",
        by=after.decided_by,
        note=after.decision_note,
    )


def _withdraw_left_behind(
    conn: Connection, issue: IssueFacts, changes: list[ScopeChange], now: datetime
) -> list[ScopeChange]:
    """A deleted issue withdraws its change; a moved one withdraws the change of the old project.

    Marks still queued for it are dropped: a deleted issue cannot take them, and a moved one
    (Jira follows the old key) must not be marked as new scope of a project it left.
    """
    kept = []
    for change in changes:
        left = issue.deleted or change.project_key != issue.project_key
        if left and not change.withdrawn:
            change = update_change(conn, change, withdrawn=True)
            cancel_writebacks(conn, change.id, "withdrawn: the issue left", now)
        kept.append(change)
    return kept


def _record_growth(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    issue: IssueFacts,
    previous: dict[str, Any] | None,
    now: datetime,
) -> None:
    if previous is None or previous.get("project_key") != issue.project_key:
        return  # new to us, or just moved in: nothing agreed to grow from
    old = hours_for(IssueFacts.from_row(previous), project, mapping).value
    new = hours_for(issue, project, mapping).value
    old_shown = None if old is None else round_half_up(old, 1)
    new_shown = None if new is None else round_half_up(new, 1)
    if growth(old_shown, new_shown) is None:
        return
    # Jira's own time of the edit, so the digest reports the raise in the week it happened.
    insert_ignore(
        conn,
        schema.scope_growth,
        {
            "project_key": project.key,
            "issue_id": issue.id,
            "key": issue.key,
            "from_hours": old_shown,
            "to_hours": new_shown,
            "at": issue.updated or now,
        },
        conflict=["issue_id", "at"],
    )


def _issue_columns(issue: IssueFacts) -> dict[str, Any]:
    """What the listing shows of the issue itself; kept current without writing to Jira."""
    return {
        "key": issue.key,
        "summary": issue.summary,
        "issue_type": issue.issue_type,
        "created": _entered_project(issue),
    }


def _entered_project(issue: IssueFacts) -> datetime | None:
    """When the issue became work of this project: created here, or moved in later.

    An issue moved in this week is new scope this week, whenever it was first created elsewhere.
    """
    if issue.moved_in_at is not None and (
        issue.created is None or issue.moved_in_at > issue.created
    ):
        return issue.moved_in_at
    return issue.created


def _impact_columns(impact: Impact) -> dict[str, Any]:
    return {
        "hours": impact.hours,
        "hours_source": impact.hours_source,
        "cost": impact.cost,
        "currency": impact.currency,
        "schedule_days": impact.schedule_days,
    }
