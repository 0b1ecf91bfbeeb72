"""The system fields `GET /rest/api/2/field` lists on a Cloud site (those the sandbox renders)."""

from __future__ import annotations

from typing import Any

# id, name, schema type, schema items, searchable under these JQL names, orderable
_SYSTEM: tuple[tuple[str, str, str, str | None, tuple[str, ...], bool], ...] = (
    ("summary", "Summary", "string", None, ("summary",), True),
    ("description", "Description", "string", None, ("description",), True),
    ("issuetype", "Issue Type", "issuetype", None, ("issuetype", "type"), True),
    ("project", "Project", "project", None, ("project",), False),
    ("parent", "Parent", "issuelink", None, ("parent",), True),
    ("status", "Status", "status", None, ("status",), False),
    ("statusCategory", "Status Category", "statusCategory", None, ("statusCategory",), False),
    (
        "statuscategorychangedate",
        "Status Category Changed",
        "datetime",
        None,
        ("statusCategoryChangedDate",),
        False,
    ),
    ("resolution", "Resolution", "resolution", None, ("resolution",), True),
    ("resolutiondate", "Resolved", "datetime", None, ("resolutiondate", "resolved"), False),
    ("priority", "Priority", "priority", None, ("priority",), True),
    ("assignee", "Assignee", "user", None, ("assignee",), True),
    ("reporter", "Reporter", "user", None, ("reporter",), True),
    ("creator", "Creator", "user", None, ("creator",), False),
    ("created", "Created", "datetime", None, ("created", "createdDate"), False),
    ("updated", "Updated", "datetime", None, ("updated", "updatedDate"), False),
    ("duedate", "Due date", "date", None, ("due", "duedate"), True),
    ("labels", "Labels", "array", "string", ("labels",), True),
    ("components", "Components", "array", "component", ("component",), True),
    ("fixVersions", "Fix versions", "array", "version", ("fixVersion",), True),
    ("versions", "Affects versions", "array", "version", ("affectedVersion",), True),
    ("issuelinks", "Linked Issues", "array", "issuelinks", ("issueLink",), True),
    ("subtasks", "Sub-tasks", "array", "issuelinks", ("subtasks",), False),
    ("timetracking", "Time tracking", "timetracking", None, (), True),
    (
        "timeoriginalestimate",
        "Original estimate",
        "number",
        None,
        ("originalEstimate", "timeoriginalestimate"),
        False,
    ),
    (
        "timeestimate",
        "Remaining Estimate",
        "number",
        None,
        ("remainingEstimate", "timeestimate"),
        False,
    ),
    ("timespent", "Time Spent", "number", None, ("timespent",), False),
    ("aggregatetimeoriginalestimate", "Σ Original Estimate", "number", None, (), False),
    ("aggregatetimeestimate", "Σ Remaining Estimate", "number", None, (), False),
    ("aggregatetimespent", "Σ Time Spent", "number", None, (), False),
    ("progress", "Progress", "progress", None, ("progress",), False),
    ("aggregateprogress", "Σ Progress", "progress", None, (), False),
    ("workratio", "Work Ratio", "number", None, ("workratio",), False),
    ("worklog", "Log Work", "array", "worklog", (), True),
    ("comment", "Comment", "comments-page", None, ("comment",), True),
    ("attachment", "Attachment", "array", "attachment", ("attachments",), True),
    ("environment", "Environment", "string", None, ("environment",), True),
    ("security", "Security Level", "securitylevel", None, ("level",), True),
    ("watches", "Watchers", "watches", None, ("watchers",), False),
    ("votes", "Votes", "votes", None, ("votes",), False),
    ("lastViewed", "Last Viewed", "datetime", None, ("lastViewed",), False),
    ("issuerestriction", "Restrict to", "issuerestriction", None, (), True),
    ("issuekey", "Key", "string", None, ("id", "issue", "issuekey", "key"), False),
)


def system_fields() -> list[dict[str, Any]]:
    rows = []
    for field_id, name, kind, items, clauses, orderable in _SYSTEM:
        schema: dict[str, Any] = {"type": kind, "system": field_id}
        if items:
            schema["items"] = items
        row: dict[str, Any] = {
            "id": field_id,
            "key": field_id,
            "name": name,
            "custom": False,
            "orderable": orderable,
            "navigable": field_id not in ("comment", "worklog", "timetracking", "issuekey"),
            "searchable": bool(clauses),
            "clauseNames": list(clauses),
        }
        if field_id != "issuekey":  # Jira lists the key without a schema
            row["schema"] = schema
        rows.append(row)
    return rows
