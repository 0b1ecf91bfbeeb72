"""Webhook bodies in the REST v2 shapes Jira Cloud sends, handed to the dispatcher in order.

Issue events carry `user` and the full issue; comment events carry the comment and a short issue
(no `user` on Cloud); worklog events carry only the worklog (with `issueId`); link events carry
`issueLink` with numeric ids, as captured Cloud payloads show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .formats import epoch_ms
from .records import Comment, History, Issue, Link, Worklog
from .render import Renderer
from .webhooks import WebhookDispatcher

SHORT_ISSUE_FIELDS = {"summary", "issuetype", "project", "assignee", "priority", "status"}


class Events:
    def __init__(self, dispatcher: WebhookDispatcher, renderer: Renderer, now: datetime) -> None:
        self.dispatcher = dispatcher
        self.r = renderer
        self.timestamp = epoch_ms(now)

    def _send(self, event: str, **parts: Any) -> None:
        self.dispatcher.publish({"timestamp": self.timestamp, "webhookEvent": event, **parts})

    def issue_created(self, issue: Issue, actor: str) -> None:
        self._send(
            "jira:issue_created",
            issue_event_type_name="issue_created",
            user=self.r.user(actor),
            issue=self.r.issue(issue),
        )

    def issue_updated(
        self,
        issue: Issue,
        actor: str,
        event_type: str,
        history: History | None = None,
        comment: Comment | None = None,
    ) -> None:
        parts: dict[str, Any] = {
            "issue_event_type_name": event_type,
            "user": self.r.user(actor),
            "issue": self.r.issue(issue),
        }
        if history is not None:
            parts["changelog"] = {"id": str(history.id), "items": history.items}
        if comment is not None:
            parts["comment"] = self.r.comment(comment)
        self._send("jira:issue_updated", **parts)

    def issue_deleted(self, rendered_issue: dict[str, Any], actor: str) -> None:
        self._send(
            "jira:issue_deleted",
            issue_event_type_name="issue_deleted",
            user=self.r.user(actor),
            issue=rendered_issue,
        )

    def comment(self, event: str, comment: Comment, issue: Issue) -> None:
        self._send(
            event, comment=self.r.comment(comment), issue=self.r.issue(issue, SHORT_ISSUE_FIELDS)
        )

    def worklog(self, event: str, worklog: Worklog) -> None:
        self._send(event, worklog=self.r.worklog(worklog))

    def issuelink(self, event: str, link: Link) -> None:
        link_type = self.r.catalog.link_types[link.type_id]
        self._send(
            event,
            issueLink={
                "id": link.id,
                "sourceIssueId": link.outward_id,
                "destinationIssueId": link.inward_id,
                "issueLinkType": {
                    "id": int(link_type["id"]),
                    "name": link_type["name"],
                    "outwardName": link_type["outward"],
                    "inwardName": link_type["inward"],
                    "isSubTaskLinkType": False,
                    "isSystemLinkType": False,
                },
                "systemLink": False,
            },
        )

    def change(
        self, issue: Issue, actor: str, change: Any, *, default_type: str = "issue_updated"
    ) -> None:
        """Everything one edit/transition/create-with-update caused, in Jira's order."""
        history = change.history
        if history is not None or change.comments:
            self.issue_updated(
                issue,
                actor,
                _event_type(change, default_type),
                history,
                change.comments[0] if change.comments else None,
            )
        for comment in change.comments:
            self.comment("comment_created", comment, issue)
        for worklog in change.worklogs:
            self.worklog("worklog_created", worklog)


def _event_type(change: Any, default: str) -> str:
    if change.transitioned:
        return "issue_generic"
    items = change.history.items if change.history else []
    fields = {i["field"] for i in items}
    if fields == {"assignee"}:
        return "issue_assigned"
    if "Key" in fields:
        return "issue_moved"
    if change.worklogs and fields <= {"timespent", "timeestimate", "WorklogId"}:
        return "issue_work_logged"
    if not items and change.comments:
        return "issue_commented"
    return default
