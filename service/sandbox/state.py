"""The sandbox's Jira: issues and their comments, worklogs, links and history, kept in memory.

Every operation here is what one REST call does; callers hold `state.lock` around an operation
and the webhooks it causes, so deliveries leave in the order the changes happened.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .adf import to_text
from .catalog import Catalog
from .changelog import Differ, item
from .clock import Clock
from .edits import Context, apply, commit, snapshot_of
from .errors import JiraError
from .formats import parse_duration, parse_jira_time
from .records import Comment, History, Issue, Link, Worklog

NO_ISSUE = "Issue does not exist or you do not have permission to see it."
TRANSITION_STEP = 10  # transition ids 11, 21, 31, ... one per target status, as Jira numbers them


@dataclass
class Change:
    """What one call changed, so the caller can tell webhooks about it."""

    history: History | None = None
    comments: list[Comment] = field(default_factory=list)
    worklogs: list[Worklog] = field(default_factory=list)
    transitioned: bool = False


class JiraState:
    def __init__(self, seed: dict[str, Any], clock: Clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.load(seed)

    # -- loading -----------------------------------------------------------------------------

    def load(self, seed: dict[str, Any]) -> None:
        with self.lock:
            self.catalog = Catalog(seed)
            self.differ = Differ(self.catalog, self._key_of)
            self.issues: dict[int, Issue] = {}
            self.keys: dict[str, int] = {}  # every key an issue ever had, so old keys still resolve
            self.links: dict[int, Link] = {}
            self._ids = {
                "issue": 10000,
                "comment": 10000,
                "worklog": 10000,
                "link": 10000,
                "history": 10000,
            }
            self._numbers = {p.id: 0 for p in self.catalog.projects.values()}
            _replay(self, copy.deepcopy(seed))

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # -- lookups -----------------------------------------------------------------------------

    def find_issue(self, ref: Any) -> Issue | None:
        text = str(ref).strip()
        if text.isdigit():
            return self.issues.get(int(text))
        issue_id = self.keys.get(text.upper())
        return self.issues.get(issue_id) if issue_id is not None else None

    def get_issue(self, ref: Any) -> Issue:
        issue = self.find_issue(ref)
        if issue is None:
            raise JiraError(404, NO_ISSUE)
        return issue

    def _key_of(self, issue_id: int) -> str | None:
        issue = self.issues.get(issue_id)
        return issue.key if issue else None

    def subtasks(self, issue: Issue) -> list[Issue]:
        return [i for i in self.issues.values() if i.parent_id == issue.id and self._is_subtask(i)]

    def _is_subtask(self, issue: Issue) -> bool:
        return bool(self.catalog.issue_types[issue.type_id]["subtask"])

    def links_of(self, issue: Issue) -> list[Link]:
        return [lk for lk in self.links.values() if issue.id in (lk.outward_id, lk.inward_id)]

    def transitions(self, issue: Issue) -> list[tuple[str, dict[str, Any]]]:
        """(transition id, target status) for every status but the current one."""
        return [
            (str(TRANSITION_STEP * (n + 1) + 1), status)
            for n, status in enumerate(self.catalog.statuses.values())
            if status["id"] != issue.status_id
        ]

    # -- issues ------------------------------------------------------------------------------

    def create_issue(
        self,
        fields: dict[str, Any],
        update: dict[str, Any],
        actor: str,
        *,
        at: datetime | None = None,
        key: str | None = None,
    ) -> tuple[Issue, Change]:
        at = at or self.clock.now()
        project = self.catalog.project_from_ref(fields.get("project"))
        issue_type = self.catalog.issue_type_from_ref(fields.get("issuetype"))
        errors = {}
        if project is None:
            errors["project"] = "Specify a valid project ID or key"
        if issue_type is None:
            errors["issuetype"] = "Specify an issue type"
        if "summary" not in fields:
            errors["summary"] = "You must specify a summary of the issue."
        if issue_type and issue_type["subtask"] and not fields.get("parent"):
            errors["parent"] = "Issue type is a sub-task but parent issue key or id not specified."
        if errors:
            raise JiraError(400, errors=errors)
        assert project is not None and issue_type is not None
        number = int(key.rsplit("-", 1)[1]) if key else self._numbers[project.id] + 1
        issue = Issue(
            id=self.next_id("issue"),
            key=f"{project.key}-{number}",
            project_id=project.id,
            type_id=str(issue_type["id"]),
            summary="",
            status_id=str(self.catalog.initial_status["id"]),
            priority_id="3"
            if "3" in self.catalog.priorities
            else next(iter(self.catalog.priorities)),
            created=at,
            updated=at,
            status_changed=at,
            reporter=actor,
            creator=actor,
            custom={k: None for k in self.catalog.custom_fields},
        )
        rest = {k: v for k, v in fields.items() if k not in ("project", "issuetype")}
        ctx = self._context(issue)
        apply(ctx, rest, {k: v for k, v in update.items() if k not in ("comment", "worklog")})
        commit(issue, ctx.snapshot, self.catalog)
        self._numbers[project.id] = max(self._numbers[project.id], number)
        self.issues[issue.id] = issue
        self.keys[issue.key] = issue.id
        change = Change()
        self._side_effects(issue, update, actor, at, change)
        return issue, change

    def edit_issue(
        self,
        issue: Issue,
        fields: dict[str, Any],
        update: dict[str, Any],
        actor: str,
        *,
        at: datetime | None = None,
        status_id: str | None = None,
    ) -> Change:
        """Edit fields (and, for a transition, the status) as one changelog entry."""
        at = at or self.clock.now()
        old = snapshot_of(issue)
        ctx = self._context(issue)
        if status_id is not None:
            ctx.snapshot["status"] = status_id
            done = self.catalog.category_of(status_id)["key"] == "done"
            ctx.snapshot["resolution"] = "10000" if done else None
        apply(ctx, fields, update)
        items = self.differ.diff(old, ctx.snapshot)
        if ctx.snapshot["project"] != old["project"]:
            items.append(self._move(issue, ctx.snapshot["project"]))
        before_category = self.catalog.category_of(issue.status_id)["key"]
        commit(issue, ctx.snapshot, self.catalog)
        change = Change(transitioned=status_id is not None and status_id != old["status"])
        if self.catalog.category_of(issue.status_id)["key"] != before_category:
            issue.status_changed = at
        if change.transitioned:
            done = self.catalog.category_of(issue.status_id)["key"] == "done"
            issue.resolutiondate = at if done else None
        if items:
            change.history = self._record(issue, actor, at, items)
        self._side_effects(issue, update, actor, at, change)
        return change

    def delete_issue(self, issue: Issue, delete_subtasks: bool) -> list[Issue]:
        subtasks = self.subtasks(issue)
        if subtasks and not delete_subtasks:
            raise JiraError(
                400, "The issue has subtasks. Use the 'deleteSubtasks' parameter to delete them."
            )
        removed = [*subtasks, issue]
        for gone in removed:
            self.issues.pop(gone.id, None)
            for link in self.links_of(gone):
                self.links.pop(link.id, None)
        return removed

    def _context(self, issue: Issue) -> Context:
        return Context(self.catalog, self.find_issue, snapshot_of(issue), issue.time_spent)

    def _move(self, issue: Issue, project_id: str) -> dict[str, Any]:
        project = self.catalog.projects[project_id]
        self._numbers[project_id] += 1
        old_key, issue.key = issue.key, f"{project.key}-{self._numbers[project_id]}"
        self.keys[issue.key] = issue.id
        return item("Key", "issuekey", None, old_key, None, issue.key)

    def _record(self, issue: Issue, actor: str, at: datetime, items: list[dict]) -> History:
        history = History(self.next_id("history"), actor, at, items)
        issue.histories.append(history)
        issue.updated = max(issue.updated, at)
        return history

    def _side_effects(
        self, issue: Issue, update: dict[str, Any], actor: str, at: datetime, change: Change
    ) -> None:
        """Run the `comment` and `worklog` "add" operations create, edit and transition allow."""
        for op in update.get("comment", []) or []:
            body = (op.get("add") or {}).get("body") if isinstance(op, dict) else None
            if body is not None:
                change.comments.append(self.add_comment(issue, body, actor, at=at))
        for op in update.get("worklog", []) or []:
            spec = (op.get("add") or {}) if isinstance(op, dict) else {}
            if spec:
                worklog, history = self.add_worklog(issue, spec, actor, at=at)
                change.worklogs.append(worklog)
                change.history = change.history or history

    # -- comments ----------------------------------------------------------------------------

    def add_comment(
        self,
        issue: Issue,
        body: str,
        actor: str,
        *,
        at: datetime | None = None,
        document: dict[str, Any] | None = None,
    ) -> Comment:
        at = at or self.clock.now()
        comment = Comment(self.next_id("comment"), issue.id, actor, body, at, at, actor, document)
        issue.comments.append(comment)
        issue.updated = max(issue.updated, at)
        return comment

    def get_comment(self, issue: Issue, comment_id: str) -> Comment:
        found = next((c for c in issue.comments if str(c.id) == str(comment_id)), None)
        if found is None:
            raise JiraError(404, f"Can not find a comment for the id: {comment_id}.")
        return found

    def edit_comment(
        self, comment: Comment, body: str, actor: str, *, document: dict[str, Any] | None = None
    ) -> None:
        comment.body, comment.update_author, comment.updated = body, actor, self.clock.now()
        comment.document = document

    def delete_comment(self, issue: Issue, comment: Comment) -> None:
        issue.comments.remove(comment)

    # -- worklogs ----------------------------------------------------------------------------

    def add_worklog(
        self, issue: Issue, spec: dict[str, Any], actor: str, *, at: datetime | None = None
    ) -> tuple[Worklog, History]:
        at = at or self.clock.now()
        seconds = _worklog_seconds(spec)
        started = parse_jira_time(spec["started"]) if spec.get("started") else at
        worklog = Worklog(
            self.next_id("worklog"),
            issue.id,
            actor,
            _comment_text(spec.get("comment")),
            started,
            seconds,
            at,
            at,
            actor,
        )
        before = (issue.time_spent or None, issue.remaining_estimate)
        issue.worklogs.append(worklog)
        if issue.remaining_estimate is not None:
            issue.remaining_estimate = max(0, issue.remaining_estimate - seconds)
        return worklog, self._record_time(issue, worklog, before, actor, at)

    def get_worklog(self, issue: Issue, worklog_id: str) -> Worklog:
        found = next((w for w in issue.worklogs if str(w.id) == str(worklog_id)), None)
        if found is None:
            raise JiraError(404, f"Cannot find worklog with id: {worklog_id}")
        return found

    def edit_worklog(self, worklog: Worklog, spec: dict[str, Any], actor: str) -> None:
        if "timeSpentSeconds" in spec or "timeSpent" in spec:
            worklog.seconds = _worklog_seconds(spec)
        if spec.get("started"):
            worklog.started = parse_jira_time(spec["started"])
        if "comment" in spec:
            worklog.comment = _comment_text(spec["comment"])
        worklog.update_author, worklog.updated = actor, self.clock.now()

    def delete_worklog(self, issue: Issue, worklog: Worklog) -> None:
        issue.worklogs.remove(worklog)

    def _record_time(
        self,
        issue: Issue,
        worklog: Worklog,
        before: tuple[int | None, int | None],
        actor: str,
        at: datetime,
    ) -> History:
        spent, remaining = before
        items = [item("timespent", "timespent", spent, spent, issue.time_spent, issue.time_spent)]
        if remaining != issue.remaining_estimate:
            items.append(
                item(
                    "timeestimate",
                    "timeestimate",
                    remaining,
                    remaining,
                    issue.remaining_estimate,
                    issue.remaining_estimate,
                )
            )
        items.append(item("WorklogId", None, None, None, worklog.id, worklog.id))
        return self._record(issue, actor, at, items)

    # -- links and properties ----------------------------------------------------------------

    def create_link(self, type_ref: Any, outward: Issue, inward: Issue) -> Link:
        link_type = self.catalog.link_type_from_ref(type_ref)
        if link_type is None:
            raise JiraError(404, f"No issue link type with name '{_ref(type_ref)}' found.")
        for existing in self.links.values():  # Jira answers a duplicate as if it made it
            if (existing.type_id, existing.outward_id, existing.inward_id) == (
                str(link_type["id"]),
                outward.id,
                inward.id,
            ):
                return existing
        link = Link(self.next_id("link"), str(link_type["id"]), outward.id, inward.id)
        self.links[link.id] = link
        return link

    def get_link(self, link_id: str) -> Link:
        link = self.links.get(int(link_id)) if str(link_id).isdigit() else None
        if link is None:
            raise JiraError(404, f"No issue link with id '{link_id}' exists.")
        return link

    def bulk_create(self, project_key: str, count: int, actor: str) -> list[Issue]:
        """Many plain Tasks at once for paging tests: no history, no webhooks."""
        project = self.catalog.project(project_key)
        task = self.catalog.issue_types_by_name.get("task") or next(
            iter(self.catalog.issue_types.values())
        )
        at = self.clock.now()
        made = []
        for _ in range(count):
            self._numbers[project.id] += 1
            number = self._numbers[project.id]
            issue = Issue(
                id=self.next_id("issue"),
                key=f"{project.key}-{number}",
                project_id=project.id,
                type_id=str(task["id"]),
                summary=f"Bulk issue {number}",
                status_id=str(self.catalog.initial_status["id"]),
                priority_id="3",
                created=at,
                updated=at,
                status_changed=at,
                reporter=actor,
                creator=actor,
                custom={k: None for k in self.catalog.custom_fields},
            )
            self.issues[issue.id] = issue
            self.keys[issue.key] = issue.id
            made.append(issue)
        return made


def _ref(ref: Any) -> str:
    return str(ref.get("name", ref.get("id"))) if isinstance(ref, dict) else str(ref)


def _worklog_seconds(spec: dict[str, Any]) -> int:
    try:
        if spec.get("timeSpentSeconds") is not None:
            seconds = int(spec["timeSpentSeconds"])
        elif spec.get("timeSpent") is not None:
            seconds = parse_duration(spec["timeSpent"])
        else:
            raise JiraError(400, errors={"timeLogged": "You must indicate the time spent working."})
    except ValueError as exc:
        raise JiraError(400, errors={"timeLogged": "Invalid time duration entered."}) from exc
    if seconds <= 0:
        raise JiraError(400, errors={"timeLogged": "Time Spent must be greater than zero."})
    return seconds


def _comment_text(value: Any) -> str:
    if isinstance(value, dict):
        return to_text(value)
    return "" if value is None else str(value)


def _status_id(catalog: Catalog, name: str) -> str:
    row = catalog.status_by_name(name)
    if row is None:
        raise ValueError(f"seed names an unknown status: {name!r}")
    return str(row["id"])


def _replay(state: JiraState, seed: dict[str, Any]) -> None:
    """Build the seeded site through the same operations the REST calls use, at seeded times."""
    catalog = state.catalog
    sprint_field = next(
        (
            k
            for k, v in catalog.custom_fields.items()
            if v["schema"].get("custom", "").endswith(":gh-sprint")
        ),
        None,
    )
    for row in seed.get("issues", []):
        fields = dict(row["fields"])
        fields["project"] = {"key": row["key"].rsplit("-", 1)[0]}
        author = (fields.get("reporter") or {}).get("accountId", catalog.actor)
        issue, _ = state.create_issue(
            fields, {}, author, at=parse_jira_time(row["created"]), key=row["key"]
        )
        if sprint_field and row.get("sprints"):
            issue.custom[sprint_field] = list(row["sprints"])
        for step in row.get("history", []):
            at = parse_jira_time(step["at"])
            status = _status_id(catalog, step["status"]) if "status" in step else None
            state.edit_issue(
                issue, step.get("fields", {}), {}, step["author"], at=at, status_id=status
            )
    for row in seed.get("links", []):
        outward, inward = state.get_issue(row["outward"]), state.get_issue(row["inward"])
        state.create_link({"name": row["type"]}, outward, inward)
    for row in seed.get("comments", []):
        state.add_comment(
            state.get_issue(row["issue"]),
            row["body"],
            row["author"],
            at=parse_jira_time(row["created"]),
        )
    for row in seed.get("worklogs", []):
        spec = {k: row[k] for k in ("timeSpentSeconds", "started", "comment") if k in row}
        issue = state.get_issue(row["issue"])
        logged_at = parse_jira_time(row["started"])
        state.add_worklog(issue, spec, row["author"], at=logged_at)
