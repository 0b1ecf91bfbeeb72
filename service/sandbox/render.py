"""Records -> the JSON Jira answers with (REST v2, or v3 where rich text becomes ADF)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from .adf import from_text
from .catalog import Project
from .fieldlist import system_fields
from .formats import format_duration, jira_time
from .records import Comment, History, Issue, Link, Worklog
from .state import JiraState

NON_NAVIGABLE = {"comment", "worklog"}  # left out of `*navigable`, the classic search default
ISSUE_FIELD_ORDER = (
    "statuscategorychangedate",
    "issuetype",
    "parent",
    "timespent",
    "project",
    "fixVersions",
    "aggregatetimespent",
    "resolution",
    "resolutiondate",
    "workratio",
    "watches",
    "lastViewed",
    "created",
    "priority",
    "labels",
    "timeestimate",
    "aggregatetimeoriginalestimate",
    "versions",
    "issuelinks",
    "assignee",
    "updated",
    "status",
    "components",
    "timeoriginalestimate",
    "description",
    "timetracking",
    "security",
    "attachment",
    "aggregatetimeestimate",
    "summary",
    "creator",
    "subtasks",
    "reporter",
    "aggregateprogress",
    "environment",
    "duedate",
    "progress",
    "votes",
    "comment",
    "worklog",
    "issuerestriction",
)


class Renderer:
    def __init__(self, state: JiraState, base: str, api: int = 2) -> None:
        self.state = state
        self.catalog = state.catalog
        self.base = base.rstrip("/")
        self.api = api
        self.rest = f"{self.base}/rest/api/{api}"

    # -- small shapes ------------------------------------------------------------------------

    def text(self, value: str | None) -> Any:
        """Rich text: a plain string on v2, an ADF document on v3."""
        if value is None:
            return None
        return from_text(value) if self.api == 3 else value

    def avatars(self, kind: str, ident: str) -> dict[str, str]:
        return {
            f"{n}x{n}": f"{self.base}/secure/{kind}avatar?size={n}&avatarId={ident}"
            for n in (48, 24, 16, 32)
        }

    def user(self, account_id: str | None) -> dict[str, Any] | None:
        if account_id is None:
            return None
        row = self.catalog.users[account_id]
        return {
            "self": f"{self.rest}/user?accountId={quote(account_id)}",
            "accountId": account_id,
            "emailAddress": row["emailAddress"],
            "avatarUrls": self.avatars("user", account_id[-5:]),
            "displayName": row["displayName"],
            "active": row.get("active", True),
            "timeZone": row.get("timeZone", "UTC"),
            "accountType": "atlassian",
        }

    def full_user(self, account_id: str) -> dict[str, Any]:
        body = self.user(account_id) or {}
        body.update(
            locale="en_US",
            groups={"size": 1, "items": []},
            applicationRoles={"size": 1, "items": []},
            expand="groups,applicationRoles",
        )
        return body

    def status_category(self, key: str) -> dict[str, Any]:
        row = self.catalog.categories[key]
        return {
            "self": f"{self.rest}/statuscategory/{row['id']}",
            "id": row["id"],
            "key": row["key"],
            "colorName": row["colorName"],
            "name": row["name"],
        }

    def status(self, status_id: str) -> dict[str, Any]:
        row = self.catalog.statuses[status_id]
        return {
            "self": f"{self.rest}/status/{status_id}",
            "description": row.get("description", ""),
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": row["name"],
            "id": status_id,
            "statusCategory": self.status_category(row["category"]),
        }

    def issue_type(self, type_id: str) -> dict[str, Any]:
        row = self.catalog.issue_types[type_id]
        return {
            "self": f"{self.rest}/issuetype/{type_id}",
            "id": type_id,
            "description": row.get("description", ""),
            "iconUrl": f"{self.base}/secure/viewavatar?size=medium&avatarId={type_id}"
            "&avatarType=issuetype",
            "name": row["name"],
            "subtask": bool(row["subtask"]),
            "avatarId": int(type_id),
            "hierarchyLevel": int(row.get("hierarchyLevel", 0)),
        }

    def priority(self, priority_id: str) -> dict[str, Any]:
        row = self.catalog.priorities[priority_id]
        return {
            "self": f"{self.rest}/priority/{priority_id}",
            "iconUrl": f"{self.base}/images/icons/priorities/{row['name'].lower()}.svg",
            "name": row["name"],
            "id": priority_id,
        }

    def project_ref(self, project: Project) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.rest}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": self.avatars("project", project.id),
        }
        if project.category:
            body["projectCategory"] = self.project_category(project)
        return body

    def project_category(self, project: Project) -> dict[str, Any]:
        category = project.category or {}
        return {
            "self": f"{self.rest}/projectCategory/{category.get('id', '')}",
            "id": str(category.get("id", "")),
            "name": category.get("name", ""),
            "description": category.get("description", ""),
        }

    def project(self, project: Project, expand: Iterable[str] = ()) -> dict[str, Any]:
        body = self.project_ref(project)
        body.update(
            expand="description,lead,issueTypes,url,projectKeys,permissions,insight",
            description=project.description,
            lead=self.user(project.lead),
            components=[self.component(project, c) for c in project.components.values()],
            issueTypes=[self.issue_type(t) for t in self.catalog.issue_types],
            assigneeType="UNASSIGNED",
            versions=[self.version(project, v) for v in project.versions.values()],
            roles={},
            style="classic",
            isPrivate=False,
            properties={},
        )
        return body

    def component(self, project: Project, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "self": f"{self.rest}/component/{row['id']}",
            "id": str(row["id"]),
            "name": row["name"],
            "description": row.get("description", ""),
            "isAssigneeTypeValid": False,
            "project": project.key,
            "projectId": int(project.id),
        }

    def version(self, project: Project, row: dict[str, Any]) -> dict[str, Any]:
        body = {
            "self": f"{self.rest}/version/{row['id']}",
            "id": str(row["id"]),
            "description": row.get("description", ""),
            "name": row["name"],
            "archived": bool(row.get("archived", False)),
            "released": bool(row.get("released", False)),
            "projectId": int(project.id),
        }
        if row.get("releaseDate"):
            body["releaseDate"] = row["releaseDate"]
        return body

    def link_type(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(row["id"]),
            "name": row["name"],
            "inward": row["inward"],
            "outward": row["outward"],
            "self": f"{self.rest}/issueLinkType/{row['id']}",
        }

    # -- issues ------------------------------------------------------------------------------

    def issue(
        self, issue: Issue, fields: set[str] | None = None, expand: Iterable[str] = ()
    ) -> dict[str, Any]:
        """`fields=None` means every field; a set is Jira's `fields` parameter after parsing."""
        body: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": str(issue.id),
            "self": f"{self.rest}/issue/{issue.id}",
            "key": issue.key,
        }
        wanted = self._field_names(fields)
        if wanted:
            renderers = self._field_renderers()
            body["fields"] = {name: renderers[name](issue) for name in wanted}
        if "changelog" in expand:
            histories = self.histories(issue)
            body["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        if "names" in expand:
            body["names"] = {f["id"]: f["name"] for f in self.field_list() if f["id"] in wanted}
        return body

    def _field_names(self, fields: set[str] | None) -> list[str]:
        every = [*ISSUE_FIELD_ORDER, *self.catalog.custom_fields]
        if fields is None or "*all" in fields:
            chosen = every
        elif "*navigable" in fields:
            chosen = [f for f in every if f not in NON_NAVIGABLE]
        else:
            chosen = [f for f in every if f in fields]
        return [f for f in chosen if f"-{f}" not in (fields or set())]

    def _field_renderers(self) -> dict[str, Callable[[Issue], Any]]:
        s = self
        renderers: dict[str, Callable[[Issue], Any]] = {
            "statuscategorychangedate": lambda i: jira_time(i.status_changed),
            "issuetype": lambda i: s.issue_type(i.type_id),
            "parent": s._parent,
            "timespent": lambda i: i.time_spent or None,
            "aggregatetimespent": lambda i: i.time_spent or None,
            "project": lambda i: s.project_ref(s.catalog.projects[i.project_id]),
            "fixVersions": lambda i: [
                s.version(
                    s.catalog.projects[i.project_id], s.catalog.projects[i.project_id].versions[v]
                )
                for v in i.version_ids
            ],
            "versions": lambda i: [],
            "resolution": s._resolution,
            "resolutiondate": lambda i: jira_time(i.resolutiondate) if i.resolutiondate else None,
            "workratio": lambda i: (
                int(i.time_spent * 100 / i.original_estimate) if i.original_estimate else -1
            ),
            "watches": lambda i: {
                "self": f"{s.rest}/issue/{i.key}/watchers",
                "watchCount": 0,
                "isWatching": False,
            },
            "lastViewed": lambda i: None,
            "created": lambda i: jira_time(i.created),
            "updated": lambda i: jira_time(i.updated),
            "priority": lambda i: s.priority(i.priority_id),
            "labels": lambda i: list(i.labels),
            "timeestimate": lambda i: i.remaining_estimate,
            "aggregatetimeestimate": lambda i: i.remaining_estimate,
            "timeoriginalestimate": lambda i: i.original_estimate,
            "aggregatetimeoriginalestimate": lambda i: i.original_estimate,
            "issuelinks": s._issue_links,
            "assignee": lambda i: s.user(i.assignee),
            "reporter": lambda i: s.user(i.reporter),
            "creator": lambda i: s.user(i.creator),
            "status": lambda i: s.status(i.status_id),
            "components": lambda i: [
                {
                    "self": f"{s.rest}/component/{c}",
                    "id": c,
                    "name": s.catalog.projects[i.project_id].components[c]["name"],
                }
                for c in i.component_ids
            ],
            "description": lambda i: s.text(i.description),
            "environment": lambda i: None,
            "timetracking": s._timetracking,
            "security": lambda i: None,
            "attachment": lambda i: [],
            "summary": lambda i: i.summary,
            "subtasks": lambda i: [s.linked_issue(x) for x in s.state.subtasks(i)],
            "progress": s._progress,
            "aggregateprogress": s._progress,
            "duedate": lambda i: i.duedate,
            "votes": lambda i: {
                "self": f"{s.rest}/issue/{i.key}/votes",
                "votes": 0,
                "hasVoted": False,
            },
            "comment": s._comment_field,
            "worklog": s._worklog_field,
            "issuerestriction": lambda i: {"issuerestrictions": {}, "shouldDisplay": False},
        }
        for field_id in self.catalog.custom_fields:
            renderers[field_id] = self._custom_renderer(field_id)
        return renderers

    def _custom_renderer(self, field_id: str) -> Callable[[Issue], Any]:
        row = self.catalog.custom_fields[field_id]
        schema = row["schema"]
        if schema.get("items") == "option":
            options = {str(o["id"]): o for o in row.get("options", [])}

            def render_options(issue: Issue) -> Any:
                chosen = issue.custom.get(field_id)
                return (
                    [
                        {
                            "self": f"{self.rest}/customFieldOption/{o}",
                            "value": options[o]["value"],
                            "id": o,
                        }
                        for o in chosen
                    ]
                    if chosen
                    else None
                )

            return render_options
        if schema.get("custom", "").endswith(":gh-sprint"):

            def render_sprints(issue: Issue) -> Any:
                chosen = issue.custom.get(field_id)
                return [dict(self.catalog.sprints[s]) for s in chosen] if chosen else None

            return render_sprints
        return lambda issue: issue.custom.get(field_id)

    def _resolution(self, issue: Issue) -> dict[str, Any] | None:
        if not issue.resolutiondate:
            return None
        row = self.catalog.done_resolution
        return {"self": f"{self.rest}/resolution/{row['id']}", **row}

    def _parent(self, issue: Issue) -> dict[str, Any] | None:
        parent = self.state.issues.get(issue.parent_id) if issue.parent_id else None
        return self.linked_issue(parent) if parent else None

    def linked_issue(self, issue: Issue) -> dict[str, Any]:
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": f"{self.rest}/issue/{issue.id}",
            "fields": {
                "summary": issue.summary,
                "status": self.status(issue.status_id),
                "priority": self.priority(issue.priority_id),
                "issuetype": self.issue_type(issue.type_id),
            },
        }

    def _issue_links(self, issue: Issue) -> list[dict[str, Any]]:
        """From this issue's side: the other issue is `outwardIssue` when this one is the source."""
        out = []
        for link in self.state.links_of(issue):
            entry: dict[str, Any] = {
                "id": str(link.id),
                "self": f"{self.rest}/issueLink/{link.id}",
                "type": self.link_type(self.catalog.link_types[link.type_id]),
            }
            if link.outward_id == issue.id:
                entry["outwardIssue"] = self.linked_issue(self.state.issues[link.inward_id])
            else:
                entry["inwardIssue"] = self.linked_issue(self.state.issues[link.outward_id])
            out.append(entry)
        return out

    def issue_link(self, link: Link) -> dict[str, Any]:
        """`outwardIssue` is the source ("blocks"), `inwardIssue` its target."""
        return {
            "id": str(link.id),
            "self": f"{self.rest}/issueLink/{link.id}",
            "type": self.link_type(self.catalog.link_types[link.type_id]),
            "inwardIssue": self.linked_issue(self.state.issues[link.inward_id]),
            "outwardIssue": self.linked_issue(self.state.issues[link.outward_id]),
        }

    def _timetracking(self, issue: Issue) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if issue.original_estimate is not None:
            body["originalEstimate"] = format_duration(issue.original_estimate)
        if issue.remaining_estimate is not None:
            body["remainingEstimate"] = format_duration(issue.remaining_estimate)
        if issue.time_spent:
            body["timeSpent"] = format_duration(issue.time_spent)
        if issue.original_estimate is not None:
            body["originalEstimateSeconds"] = issue.original_estimate
        if issue.remaining_estimate is not None:
            body["remainingEstimateSeconds"] = issue.remaining_estimate
        if issue.time_spent:
            body["timeSpentSeconds"] = issue.time_spent
        return body

    def _progress(self, issue: Issue) -> dict[str, Any]:
        total = issue.time_spent + (issue.remaining_estimate or 0)
        body: dict[str, Any] = {"progress": issue.time_spent, "total": total}
        if total:
            body["percent"] = int(issue.time_spent * 100 / total)
        return body

    def _comment_field(self, issue: Issue) -> dict[str, Any]:
        comments = [self.comment(c) for c in issue.comments]
        return {
            "comments": comments,
            "self": f"{self.rest}/issue/{issue.id}/comment",
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        }

    def _worklog_field(self, issue: Issue) -> dict[str, Any]:
        # Jira embeds at most 20 worklogs in the issue; the rest come from /worklog.
        return {
            "startAt": 0,
            "maxResults": 20,
            "total": len(issue.worklogs),
            "worklogs": [self.worklog(w) for w in issue.worklogs[:20]],
        }

    # -- activity ----------------------------------------------------------------------------

    def comment(self, comment: Comment) -> dict[str, Any]:
        return {
            "self": f"{self.rest}/issue/{comment.issue_id}/comment/{comment.id}",
            "id": str(comment.id),
            "author": self.user(comment.author),
            "body": self._comment_body(comment),
            "updateAuthor": self.user(comment.update_author),
            "created": jira_time(comment.created),
            "updated": jira_time(comment.updated),
            "jsdPublic": True,
        }

    def _comment_body(self, comment: Comment) -> Any:
        # Cloud stores the ADF a v3 call sent and answers v3 with it unchanged; v2 gets the text.
        if self.api == 3 and comment.document is not None:
            return comment.document
        return self.text(comment.body)

    def worklog(self, worklog: Worklog) -> dict[str, Any]:
        body = {
            "self": f"{self.rest}/issue/{worklog.issue_id}/worklog/{worklog.id}",
            "author": self.user(worklog.author),
            "updateAuthor": self.user(worklog.update_author),
            "created": jira_time(worklog.created),
            "updated": jira_time(worklog.updated),
            "started": jira_time(worklog.started),
            "timeSpent": format_duration(worklog.seconds),
            "timeSpentSeconds": worklog.seconds,
            "id": str(worklog.id),
            "issueId": str(worklog.issue_id),
        }
        if worklog.comment or self.api == 2:
            body["comment"] = self.text(worklog.comment)
        return body

    def history(self, history: History) -> dict[str, Any]:
        return {
            "id": str(history.id),
            "author": self.user(history.author),
            "created": jira_time(history.created),
            "items": history.items,
        }

    def histories(self, issue: Issue) -> list[dict[str, Any]]:
        ordered = sorted(issue.histories, key=lambda h: (h.created, h.id))
        return [self.history(h) for h in ordered]

    # -- site --------------------------------------------------------------------------------

    def field_list(self) -> list[dict[str, Any]]:
        rows = system_fields()
        for field_id, row in self.catalog.custom_fields.items():
            number = field_id.rsplit("_", 1)[1]
            rows.append(
                {
                    "id": field_id,
                    "key": field_id,
                    "name": row["name"],
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [f"cf[{number}]", row["name"]],
                    "schema": dict(row["schema"]),
                }
            )
        return rows
