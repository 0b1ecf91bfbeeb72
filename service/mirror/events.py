"""From a Jira webhook body to the mirror: one small handler per event, and the events we ignore.

Handlers run inside the worker's transaction and must be idempotent: replaying the whole
inbox yields the same mirror. After an issue changes, the scope engine looks at it in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mappings.model import Mapping
from service.jira.payloads import (
    changelog_items,
    comment_row,
    dig,
    event_time,
    link_row,
    worklog_row,
)
from service.mirror import apply as mirror
from service.mirror.batch import Batch
from service.scope.engine import evaluate_issue


@dataclass(frozen=True)
class EventContext:
    conn: Connection
    mapping: Mapping
    now: datetime  # when the worker processes the event; the event's own time is in the body
    batch: Batch = field(default_factory=Batch)  # what the worker's batch carries between events
    actor: str | None = None  # who did it in Jira (the webhook's user), for the decision audit


Handler = Callable[[EventContext, dict[str, Any]], None]


class UnusableEvent(ValueError):
    """The body names a known event but lacks what the handler needs; the row is marked failed."""


def handle_issue_changed(ctx: EventContext, body: dict[str, Any]) -> None:
    issue = body.get("issue")
    if not isinstance(issue, dict):
        raise UnusableEvent("no issue in the body")
    ts, at = event_time(body, ctx.now)
    user = body.get("user")
    user = user if isinstance(user, dict) else {}
    actor = user.get("displayName") or user.get("accountId") or user.get("name")
    if actor:
        ctx = replace(ctx, actor=str(actor))
    issue_id, _ = apply_snapshot(ctx, issue, ts, changelog_items(body), at)
    if issue_id is None:
        raise UnusableEvent("issue without id, key or project")


def apply_snapshot(
    ctx: EventContext,
    issue: dict[str, Any],
    event_ts_ms: int,
    changelog: list[dict[str, Any]] | None = None,
    at: datetime | None = None,
) -> tuple[str | None, dict[str, Any] | None]:
    """Mirror an issue snapshot, then let the scope engine look at it, in one transaction: the
    step the webhook path and reconcile share. Returns the issue's id (None when the snapshot is
    unusable) and its mirror row as it was before.
    """
    previous = mirror.get_issue(ctx.conn, str(issue.get("id", "")))
    issue_id = mirror.apply_issue(
        ctx.conn, ctx.mapping, issue, event_ts_ms, held=previous, batch=ctx.batch
    )
    if issue_id is None:
        return None, previous
    if changelog:
        mirror.record_changelog(ctx.conn, issue_id, changelog, at or ctx.now)
    _evaluate_scope(ctx, issue_id, previous)
    return issue_id, previous


def handle_issue_deleted(ctx: EventContext, body: dict[str, Any]) -> None:
    issue = body.get("issue")
    if not isinstance(issue, dict):
        raise UnusableEvent("no issue in the body")
    ts, _ = event_time(body, ctx.now)
    previous = mirror.get_issue(ctx.conn, str(issue.get("id", "")))
    issue_id = mirror.delete_issue(ctx.conn, ctx.mapping, issue, ts, ctx.batch)
    if issue_id is not None:
        _evaluate_scope(ctx, issue_id, previous)


def _worklog_handler(deleted: bool) -> Handler:
    def handle(ctx: EventContext, body: dict[str, Any]) -> None:
        worklog = body.get("worklog")
        row = worklog_row(worklog) if isinstance(worklog, dict) else None
        if row is None or not isinstance(worklog, dict):
            raise UnusableEvent("worklog without id, issueId, started or timeSpentSeconds")
        mirror.apply_worklog(ctx.conn, ctx.mapping, row, deleted=deleted, batch=ctx.batch)
        mirror.remember_people(ctx.conn, [worklog.get("author")], ctx.batch)

    return handle


def _comment_handler(deleted: bool) -> Handler:
    def handle(ctx: EventContext, body: dict[str, Any]) -> None:
        comment, issue_id = body.get("comment"), dig(body, "issue", "id")
        row = (
            comment_row(comment, str(issue_id)) if isinstance(comment, dict) and issue_id else None
        )
        if row is None:
            raise UnusableEvent("comment without id or issue")
        mirror.apply_comment(ctx.conn, row, deleted=deleted)

    return handle


def _link_handler(deleted: bool) -> Handler:
    def handle(ctx: EventContext, body: dict[str, Any]) -> None:
        link = body.get("issueLink")
        _, at = event_time(body, ctx.now)
        row = link_row(link, at) if isinstance(link, dict) else None
        if row is None:
            raise UnusableEvent("issueLink without id, sourceIssueId or destinationIssueId")
        mirror.apply_link(ctx.conn, row, deleted=deleted)

    return handle


def _evaluate_scope(ctx: EventContext, issue_id: str, previous: dict[str, Any] | None) -> None:
    evaluate_issue(
        ctx.conn,
        ctx.mapping,
        issue_id,
        ctx.now,
        previous,
        baselines=ctx.batch.baselines,
        actor=ctx.actor,
    )


HANDLERS: dict[str, Handler] = {
    "jira:issue_created": handle_issue_changed,
    "jira:issue_updated": handle_issue_changed,
    "jira:issue_deleted": handle_issue_deleted,
    "jira:worklog_updated": handle_issue_changed,  # Data Center: an issue event about a worklog
    "worklog_created": _worklog_handler(deleted=False),
    "worklog_updated": _worklog_handler(deleted=False),
    "worklog_deleted": _worklog_handler(deleted=True),
    "comment_created": _comment_handler(deleted=False),
    "comment_updated": _comment_handler(deleted=False),
    "comment_deleted": _comment_handler(deleted=True),
    "issuelink_created": _link_handler(deleted=False),
    "issuelink_deleted": _link_handler(deleted=True),
}

# Recognised and acknowledged, but nothing we report on depends on them.
IGNORED_PREFIXES = (
    "sprint_",
    "jira:version_",
    "project_",
    "board_",
    "user_",
    "option_",
    "issuetype_",
    "jira:issuetype_",
    "filter_",
    "attachment_",
    "issue_property_",
)


def dispatch(ctx: EventContext, body: dict[str, Any]) -> str:
    """Runs the handler: "handled", "ignored" (known, unused) or "unknown"; all count as done."""
    event = str(body.get("webhookEvent", ""))
    handler = HANDLERS.get(event)
    if handler is None:
        return "ignored" if event.startswith(IGNORED_PREFIXES) else "unknown"
    handler(ctx, body)
    return "handled"
