"""The scope engine: flags new scope as the mirror changes, prices it, and queues the Jira marks.

`evaluate_issue` runs inside the worker's transaction, right after the mirror took an event, so the
mirror, the scope change and its outbox job commit together. It is idempotent: replaying an event
finds the same impact and enqueues nothing (and the job's dedupe key would refuse it anyway).

Lifecycle of a change, as a client sees it:
- flagged once, priced, and marked in Jira (label, impact fields, one comment, the property);
- re-priced while pending or rejected when its estimate changes: a new `impact_version` and one
  job that edits the same comment (found by its marker) instead of posting another. Jobs of older
  versions that no worker has started are dropped: the newest carries the whole state;
- decided by the approved/rejected label in Jira or by the API. Only a label *added* since the
  previous mirror row counts: the mere presence of an old label must not undo a newer API decision
  whose job has not reached Jira yet;
- once approved with a price, it has joined the baseline: its price is frozen (the client agreed
  to that figure and the budget grew by it), and a later raise is recorded as scope growth;
- withdrawn when its issue is deleted or moved to another project: the work left, nobody can
  decide on it, and reports leave it out. Jira needs no write for that, and marks still queued
  for it are dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, false, func, insert, select, update

from mappings.model import JiraFields, Mapping, Project
from service.mirror.apply import get_issue
from service.outbox.queue import enqueue
from service.scope.baseline import (
    Baseline,
    baseline_members,
    current_baseline,
    growth,
    is_growth_candidate,
    is_scope_change,
)
from service.scope.pricing import (
    DECISIONS,
    Decision,
    Impact,
    IssueFacts,
    hours_for,
    impact_comment,
    price,
    round_half_up,
)
from service.store import schema
from service.store.engine import insert_ignore

log = logging.getLogger(__name__)

WRITEBACK = "writeback"
IMPACT_PROPERTY = "scopewatch.impact"
NOTE_MAX_CHARS = 2000
# What a client would see change on the ticket; a change in any of them is a new impact version.
IMPACT_COLUMNS = ("hours", "hours_source", "cost", "schedule_days", "decision")


class NotFound(LookupError):
    """No such project or scope change; the API answers 404 with this message."""


class Invalid(ValueError):
    """A request the engine cannot carry out as asked; the API answers 400 with this message."""


# --- evaluating one issue ---------------------------------------------------------------------


def evaluate_issue(
    conn: Connection,
    mapping: Mapping,
    issue_id: str,
    now: datetime,
    previous: dict[str, Any] | None = None,
) -> None:
    """Flags, re-prices, decides or withdraws after the mirror row of `issue_id` changed.

    `previous` is the mirror row as it was before this event (None when the issue is new): label
    decisions and estimate growth are both about what changed.
    """
    # Every event of every issue comes through here, inside the worker's write transaction:
    # the common paths cost a handful of small queries.
    found = get_issue(conn, issue_id)
    if found is None:
        return
    issue = IssueFacts.from_row(found)
    changes = _changes_of_issue(conn, issue.id)
    _withdraw_left_behind(conn, issue, changes, now)
    project = mapping.project(issue.project_key)
    if issue.deleted or project is None:
        return
    baseline = current_baseline(conn, project)
    change = next((c for c in changes if c["project_key"] == project.key), None)
    if change is not None:
        # Moved out and back in again: the same change comes back rather than a second one,
        # and its marks are written again (the queued ones were dropped when it left).
        back = bool(change["withdrawn"])
        if back:
            conn.execute(_update_change(change["id"]).values(withdrawn=False))
            change["withdrawn"] = False
        _follow_change(conn, mapping, project, baseline, issue, change, previous, now, back)
        return
    # Only a sub-task's parent, and with a snapshot the issue itself, can be a baseline member.
    asked = [issue.parent_id if issue.is_subtask else None, issue.id if baseline.captured else None]
    members = baseline_members(conn, baseline, project, asked)
    verdict = is_scope_change(issue, project, baseline, members)
    if verdict.flag:
        _open_change(conn, mapping, project, baseline, issue, previous, now)
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
) -> None:
    impact = price(hours_for(issue, project, mapping), issue.assignee, project, mapping)
    decided = _label_decision(issue, previous, mapping.jira)
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
        values.update(decided_at=issue.updated or now, decision_note=f"label {decided[1]} in Jira")
    # A plain insert: we just read that there is none, and the transaction holds the write lock
    # (on PostgreSQL a concurrent twin fails on the unique key and its event is retried).
    result = conn.execute(insert(schema.scope_changes).values(values))
    change_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    change = {"id": change_id, "withdrawn": False, "decided_at": None, **values}
    _enqueue_writeback(conn, mapping, project, baseline, change, now)


def _follow_change(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    baseline: Baseline,
    issue: IssueFacts,
    change: dict[str, Any],
    previous: dict[str, Any] | None,
    now: datetime,
    rewrite: bool = False,
) -> None:
    """An issue already flagged changed: keep the listing current, re-price, take a decision."""
    values: dict[str, Any] = _issue_columns(issue)
    decided = _label_decision(issue, previous, mapping.jira)
    if previous is None and change["decision"] != "pending":
        decided = None  # without the row before, an old label is no news about a decided change
    decision = decided[0] if decided else change["decision"]
    if decided and decision != change["decision"]:
        values.update(
            decision=decision,
            decided_at=issue.updated or now,
            decision_note=f"label {decided[1]} in Jira",
        )
    if _price_frozen(change, decision):
        _record_growth(conn, mapping, project, issue, previous, now)
    else:
        impact = price(hours_for(issue, project, mapping), issue.assignee, project, mapping)
        values.update(_impact_columns(impact))
    new_impact = {column: values.get(column, change[column]) for column in IMPACT_COLUMNS}
    bumped = rewrite or new_impact != {column: change[column] for column in IMPACT_COLUMNS}
    if bumped:
        values["impact_version"] = change["impact_version"] + 1
    values = {column: value for column, value in values.items() if change[column] != value}
    if values:  # most events (a comment, a status) change nothing here: no write at all
        conn.execute(_update_change(change["id"]).values(**values))
    if bumped:
        _enqueue_writeback(conn, mapping, project, baseline, {**change, **values}, now)


def _price_frozen(change: dict[str, Any], decision: str) -> bool:
    """An approved, priced change is part of the agreed scope: its price no longer moves."""
    return (
        change["decision"] == "approved" and decision == "approved" and change["hours"] is not None
    )


def _label_decision(
    issue: IssueFacts, previous: dict[str, Any] | None, jira: JiraFields
) -> tuple[Decision, str] | None:
    """The decision a label *added* by this event states, with the label; None if none or both."""
    before = set(previous.get("labels") or []) if previous else set()
    added = set(issue.labels) - before
    approved, rejected = jira.approved_label in added, jira.rejected_label in added
    if approved == rejected:
        return None
    return ("approved", jira.approved_label) if approved else ("rejected", jira.rejected_label)


def _withdraw_left_behind(
    conn: Connection, issue: IssueFacts, changes: list[dict[str, Any]], now: datetime
) -> None:
    """A deleted issue withdraws its change; a moved one withdraws the change of the old project.

    Marks still queued for it are dropped: a deleted issue cannot take them, and a moved one
    (Jira follows the old key) must not be marked as new scope of a project it left.
    """
    for change in changes:
        left = issue.deleted or change["project_key"] != issue.project_key
        if left and not change["withdrawn"]:
            conn.execute(_update_change(change["id"]).values(withdrawn=True))
            _cancel_pending_writebacks(conn, change["id"], "withdrawn: the issue left", now)
            change["withdrawn"] = True


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


# --- decisions through the API ----------------------------------------------------------------


def decide(
    conn: Connection,
    mapping: Mapping,
    project_key: str,
    issue_key: str,
    decision: str,
    note: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Records the client's decision and queues the marks in Jira; returns the change as JSON.

    Deciding again the same way only updates the note: nothing new is written to Jira.
    """
    project = mapping.project(project_key)
    if project is None:
        raise NotFound(f"unknown project {project_key}")
    if decision not in ("approved", "rejected"):
        raise Invalid('decision must be "approved" or "rejected"')
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise Invalid(f"note is longer than {NOTE_MAX_CHARS} characters")
    change = _change_by_key(conn, project.key, issue_key)
    if change is None or change["withdrawn"]:
        raise NotFound(f"no scope change {issue_key} in project {project_key}")
    changed = decision != change["decision"]
    values: dict[str, Any] = {}
    if changed or note is not None:  # an old note belongs to the old decision
        values["decision_note"] = note
    if changed:
        values.update(
            decision=decision, decided_at=now, impact_version=change["impact_version"] + 1
        )
    if values:
        conn.execute(_update_change(change["id"]).values(**values))
    updated = {**change, **values}
    if changed:
        baseline = current_baseline(conn, project)
        _enqueue_writeback(conn, mapping, project, baseline, updated, now)
    return change_json(updated)


# --- reading ----------------------------------------------------------------------------------


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
    sc = schema.scope_changes.c
    born = func.coalesce(sc.created, sc.detected_at)
    query = (
        select(schema.scope_changes)
        .where(sc.project_key == project_key, sc.withdrawn == false())
        .order_by(born, sc.id)
    )
    if decision is not None:
        query = query.where(sc.decision == decision)
    if since is not None:
        query = query.where(born >= since)
    if until is not None:
        query = query.where(born < until)
    return [change_json(dict(row)) for row in conn.execute(query).mappings()]


def approved_budget_extension(conn: Connection, project_key: str) -> float:
    """What approved changes add to the budget: their cost (unpriced ones add nothing yet)."""
    sc = schema.scope_changes.c
    total = conn.execute(
        select(func.coalesce(func.sum(sc.cost), 0.0)).where(
            sc.project_key == project_key, sc.decision == "approved", sc.withdrawn == false()
        )
    ).scalar_one()
    return round_half_up(float(total), 2)


def change_json(change: dict[str, Any]) -> dict[str, Any]:
    """A `scope_changes` row as PRODUCT.md's scope-change JSON, plus when and why it was decided."""
    return {
        "key": change["key"],
        "summary": change["summary"],
        "issue_type": change["issue_type"],
        "created": _iso(change["created"]),
        "detected_at": _iso(change["detected_at"]),
        "hours": change["hours"],
        "hours_source": change["hours_source"],
        "cost": change["cost"],
        "currency": change["currency"],
        "schedule_days": change["schedule_days"],
        "decision": change["decision"],
        "written_back": change["written_version"] >= change["impact_version"],
        "decided_at": _iso(change.get("decided_at")),
        "decision_note": change.get("decision_note"),
    }


# --- the write-back job -----------------------------------------------------------------------


def writeback_payload(
    jira: JiraFields, project: Project, baseline: Baseline, change: dict[str, Any]
) -> dict[str, Any]:
    """Everything Jira should show for this version of the change, in the outbox's agreed shape.

    The whole state, not a delta: any one job brings the ticket up to date on its own.
    """
    decision = change["decision"]
    impact = _stored_impact(change)
    marker = f"[scopewatch change {change['id']}]"
    decision_labels = {"approved": jira.approved_label, "rejected": jira.rejected_label}
    labels_add = [jira.scope_change_label]
    labels_remove: list[str] = []
    if decision in decision_labels:  # a decided change shows its label, and only that one
        labels_add.append(decision_labels[decision])
        labels_remove = [label for name, label in decision_labels.items() if name != decision]
    targets = ((jira.impact_hours_field, impact.hours), (jira.impact_cost_field, impact.cost))
    return {
        "issue_key": change["key"],
        "labels_add": labels_add,
        "labels_remove": labels_remove,
        "fields": {field: value for field, value in targets if field},
        # The marker is in the text: it is how the executor finds this comment again to edit it.
        "comment": {
            "marker": marker,
            "text": f"{impact_comment(impact, baseline.label(project.digest.tz), decision)}"
            f"\n\n{marker}",
        },
        "property": {
            "key": IMPACT_PROPERTY,
            "value": {
                "change_id": change["id"],
                "version": change["impact_version"],
                "hours": impact.hours,
                "hours_source": impact.hours_source,
                "cost": impact.cost,
                "currency": impact.currency,
                "schedule_days": impact.schedule_days,
                "decision": decision,
                "baseline": baseline.as_json(),
            },
        },
    }


def _enqueue_writeback(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    baseline: Baseline,
    change: dict[str, Any],
    now: datetime,
) -> None:
    key = f"{WRITEBACK}:{change['id']}:{change['impact_version']}"
    if change["impact_version"] > 1:
        # An older version not yet started would only be overwritten by this one; worse, its
        # label edit would come back as a webhook and read as a decision, flip-flopping with ours.
        _cancel_pending_writebacks(conn, change["id"], f"superseded by {key}", now)
    enqueue(
        conn,
        dedupe_key=key,
        kind=WRITEBACK,
        project_key=project.key,
        issue_id=change["issue_id"],
        payload=writeback_payload(mapping.jira, project, baseline, change),
        now=now,
    )


def _cancel_pending_writebacks(
    conn: Connection, change_id: int, reason: str, now: datetime
) -> None:
    """Marks this change's write-back jobs that no worker has started as done, with the reason.

    A job under a live lease is left alone: it may be half-way through its Jira calls.
    """
    ob = schema.outbox.c
    conn.execute(
        update(schema.outbox)
        .where(
            ob.kind == WRITEBACK,
            ob.dedupe_key.like(f"{WRITEBACK}:{change_id}:%"),
            ob.status == "pending",
            (ob.lease_until.is_(None)) | (ob.lease_until <= now),  # as the outbox claims
        )
        .values(status="done", done_at=now, last_error=reason)
    )


# --- small helpers ----------------------------------------------------------------------------


_CHANGES_OF_ISSUE = select(schema.scope_changes).where(
    schema.scope_changes.c.issue_id == bindparam("issue_id")
)


def _changes_of_issue(conn: Connection, issue_id: str) -> list[dict[str, Any]]:
    """In every project: an issue moved between projects can have had a change in each."""
    return [dict(row) for row in conn.execute(_CHANGES_OF_ISSUE, {"issue_id": issue_id}).mappings()]


def _change_by_issue(conn: Connection, project_key: str, issue_id: str) -> dict[str, Any] | None:
    sc = schema.scope_changes.c
    row = (
        conn.execute(
            select(schema.scope_changes).where(
                sc.project_key == project_key, sc.issue_id == issue_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _change_by_key(conn: Connection, project_key: str, issue_key: str) -> dict[str, Any] | None:
    """By the key we listed it under, else by the mirror's current key (keys change on a move)."""
    sc = schema.scope_changes.c
    row = (
        conn.execute(
            select(schema.scope_changes)
            .where(sc.project_key == project_key, sc.key == issue_key)
            .order_by(sc.withdrawn)
        )
        .mappings()
        .first()
    )
    if row is not None:
        return dict(row)
    issue_id = conn.execute(
        select(schema.issues.c.id).where(schema.issues.c.key == issue_key)
    ).scalar()
    return None if issue_id is None else _change_by_issue(conn, project_key, str(issue_id))


def _update_change(change_id: int) -> Any:
    return update(schema.scope_changes).where(schema.scope_changes.c.id == change_id)


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


def _stored_impact(change: dict[str, Any]) -> Impact:
    hours, cost = change["hours"], change["cost"]
    rate = cost / hours if hours and cost is not None else 0.0
    return Impact(
        hours=hours,
        hours_source=change["hours_source"],
        rate=rate,
        cost=cost,
        schedule_days=change["schedule_days"],
        currency=change["currency"],
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
