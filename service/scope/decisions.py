"""Deciding on a scope change: from a label in Jira, the API, the CLI, the cockpit or the client.

`approved` and `rejected` are the client's answer; `not-scope` says the change was agreed work
after all (its flag is taken off the ticket); `pending` reopens it (the flag comes back). Every
decision is kept in the audit trail (`service.scope.audit`).

Only a label *added* since the previous mirror row counts: the mere presence of an old label must
not undo a newer API decision whose job has not reached Jira yet. Deciding again the same way
only updates the note: nothing new is written to Jira.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mappings.model import JiraFields, Mapping, Project
from service.scope.audit import CHANNELS, record_decision
from service.scope.baseline import current_baseline
from service.scope.changes import change_by_key, update_change
from service.scope.model import DECISIONS, Decision, Invalid, NotFound, ScopeChange
from service.scope.pricing import IssueFacts
from service.scope.reprice import reprice_parents_of
from service.scope.writeback import enqueue_writeback

NOTE_MAX_CHARS = 2000


def label_decision(
    issue: IssueFacts, previous: dict[str, Any] | None, jira: JiraFields
) -> tuple[Decision, str] | None:
    """The decision a label *added* by this event states, with the label; None if none or both."""
    before = set(previous.get("labels") or []) if previous else set()
    added = set(issue.labels) - before
    approved, rejected = jira.approved_label in added, jira.rejected_label in added
    if approved == rejected:
        return None
    return ("approved", jira.approved_label) if approved else ("rejected", jira.rejected_label)


def decide(
    conn: Connection,
    mapping: Mapping,
    project_key: str,
    issue_key: str,
    decision: str,
    note: str | None,
    now: datetime,
    *,
    channel: str,
    by: str | None,
) -> dict[str, Any]:
    """Records a decision, audits it, and queues what Jira should show; returns the change's JSON.

    Every channel comes through here: the admin API ("api"), the CLI ("cli"), the cockpit
    ("web"), the client's signed link ("email"), a baseline capture ("cli"). `by` names the
    person (an e-mail, a login, a Jira user) where the channel knows one.
    """
    project = mapping.project(project_key)
    if project is None:
        raise NotFound(f"unknown project {project_key}")
    if decision not in DECISIONS:
        raise Invalid(f"decision must be one of {', '.join(DECISIONS)}")
    if channel not in CHANNELS:
        raise Invalid(f"channel must be one of {', '.join(CHANNELS)}")
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise Invalid(f"note is longer than {NOTE_MAX_CHARS} characters")
    change = change_by_key(conn, project.key, issue_key)
    if change is None or change.withdrawn:
        raise NotFound(f"no scope change {issue_key} in project {project_key}")
    return apply_decision(
        conn, mapping, project, change, decision, note, now, channel=channel, by=by
    ).to_json()


def apply_decision(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    change: ScopeChange,
    decision: str,
    note: str | None,
    now: datetime,
    *,
    channel: str,
    by: str | None,
) -> ScopeChange:
    """`decide` for a change already found and checked (a baseline capture has it in hand).

    Deciding again the same way only updates the note (audited, nothing new for Jira).
    """
    changed = decision != change.decision
    values: dict[str, Any] = {}
    if changed or note is not None:  # an old note belongs to the old decision
        values["decision_note"] = note
    if changed:
        values.update(
            decision=decision,
            decided_at=now,
            decided_by=by,
            decision_channel=channel,
            impact_version=change.impact_version + 1,
        )
    updated: ScopeChange = update_change(conn, change, **values)
    if changed or note is not None:
        record_decision(conn, change, decision, at=now, channel=channel, by=by, note=note)
    if changed:
        baseline = current_baseline(conn, project)
        enqueue_writeback(conn, mapping, project, baseline, updated, now)
        # A rejected child no longer carries its parent, a reopened one does again.
        reprice_parents_of(conn, mapping, change.issue_id, now)
    return updated
