"""Running a parsed JQL query over the sandbox's issues, with Jira's validation errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from . import jql
from .errors import JiraError
from .records import Issue
from .state import JiraState

NO_FIELD = "Field '{}' does not exist or you do not have permission to view it."
NO_VALUE = "The value '{}' does not exist for the field '{}'."
BAD_DATE = (
    "Date value '{}' for field '{}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm',"
    " 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
)
_PERIOD = re.compile(r"([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)", re.IGNORECASE)
_PERIOD_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}  # JQL periods are calendar time

Matcher = Callable[[Issue], bool]


def run(state: JiraState, text: str, now: datetime) -> list[Issue]:
    query = jql.parse(text)
    matchers = [_matcher(state, clause, now) for clause in query.clauses]
    found = [i for i in state.issues.values() if all(m(i) for m in matchers)]
    return _sorted(state, found, query.order)


def _matcher(state: JiraState, clause: jql.Clause, now: datetime) -> Matcher:
    name = clause.field.lower()
    if name in ("created", "createddate", "updated", "updateddate", "resolved", "resolutiondate"):
        return _date_matcher(clause, now)
    values_of = _VALUE_GETTERS.get(name)
    if values_of is None:
        raise JiraError(400, NO_FIELD.format(clause.field))
    if clause.operator in ("is", "is not"):
        empty = clause.operator == "is"
        return lambda i: (not values_of(state, i)) == empty
    if clause.operator not in ("=", "!=", "in", "not in"):
        raise JiraError(
            400, f"The operator '{clause.operator}' is not supported by the '{clause.field}' field."
        )
    wanted = {_canonical(state, name, clause.field, v) for v in clause.values}
    negate = clause.operator in ("!=", "not in")
    return lambda i: bool(wanted & set(values_of(state, i))) != negate


def _canonical(state: JiraState, name: str, field: str, value: str) -> str:
    """Resolve a JQL value to the id the getters return, or fail the way Jira does."""
    catalog = state.catalog
    lowered = value.lower()
    if name == "project":
        project = catalog.find_project(value) or next(
            (p for p in catalog.projects.values() if p.name.lower() == lowered), None
        )
        if project is None:
            raise JiraError(400, NO_VALUE.format(value, "project"))
        return project.id
    if name in ("key", "issuekey", "id", "issue", "parent"):
        issue = state.find_issue(value)
        if issue is None:
            raise JiraError(400, f"An issue with key '{value}' does not exist for field '{field}'.")
        return str(issue.id)
    if name == "status":
        row = catalog.statuses.get(value) or catalog.status_by_name(value)
        if row is None:
            raise JiraError(400, NO_VALUE.format(value, "status"))
        return str(row["id"])
    if name == "statuscategory":
        for key, row in catalog.categories.items():
            if lowered in (key.lower(), row["name"].lower(), str(row["id"])):
                return key
        raise JiraError(400, NO_VALUE.format(value, "statusCategory"))
    if name in ("issuetype", "type"):
        row = catalog.issue_types.get(value) or catalog.issue_types_by_name.get(lowered)
        if row is None:
            raise JiraError(400, NO_VALUE.format(value, "issuetype"))
        return str(row["id"])
    if name in ("assignee", "reporter"):
        if value in catalog.users:
            return value
        row = catalog.users_by_email.get(lowered)
        if row is None:
            raise JiraError(400, NO_VALUE.format(value, name))
        return str(row["accountId"])
    if name == "resolution":
        return "10000" if lowered in ("done", "10000") else value
    return value


def _labels(state: JiraState, issue: Issue) -> list[str]:
    return list(issue.labels)


_VALUE_GETTERS: dict[str, Callable[[JiraState, Issue], list[str]]] = {
    "project": lambda s, i: [i.project_id],
    "key": lambda s, i: [str(i.id)],
    "issuekey": lambda s, i: [str(i.id)],
    "id": lambda s, i: [str(i.id)],
    "issue": lambda s, i: [str(i.id)],
    "labels": _labels,
    "status": lambda s, i: [i.status_id],
    "statuscategory": lambda s, i: [s.catalog.statuses[i.status_id]["category"]],
    "issuetype": lambda s, i: [i.type_id],
    "type": lambda s, i: [i.type_id],
    "assignee": lambda s, i: [i.assignee] if i.assignee else [],
    "reporter": lambda s, i: [i.reporter] if i.reporter else [],
    "parent": lambda s, i: [str(i.parent_id)] if i.parent_id else [],
    "resolution": lambda s, i: ["10000"] if i.resolutiondate else [],
}


def _date_matcher(clause: jql.Clause, now: datetime) -> Matcher:
    name = clause.field.lower()
    attribute = {
        "createddate": "created",
        "updateddate": "updated",
        "resolved": "resolutiondate",
    }.get(name, name)
    if clause.operator in ("is", "is not"):
        empty = clause.operator == "is"
        return lambda i: (getattr(i, attribute) is None) == empty
    if clause.operator not in ("=", "!=", ">", ">=", "<", "<="):
        raise JiraError(
            400, f"The operator '{clause.operator}' is not supported by the '{clause.field}' field."
        )
    limit = parse_date(clause.values[0], clause.field, now)
    compare = {
        "=": lambda a: a == limit,
        "!=": lambda a: a != limit,
        ">": lambda a: a > limit,
        ">=": lambda a: a >= limit,
        "<": lambda a: a < limit,
        "<=": lambda a: a <= limit,
    }[clause.operator]

    def matches(issue: Issue) -> bool:
        moment = getattr(issue, attribute)
        return moment is not None and compare(moment)

    return matches


def parse_date(value: str, field: str, now: datetime) -> datetime:
    """JQL date literals, read in the site's time zone (UTC here), or a period relative to now."""
    text = value.strip().replace("/", "-")
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    match = _PERIOD.fullmatch(value.strip())
    if match:
        seconds = sum(
            int(n) * _PERIOD_UNITS[u.lower()]
            for n, u in re.findall(r"(\d+)\s*([wdhm])", match.group(2), re.I)
        )
        return now + timedelta(seconds=-seconds if match.group(1) == "-" else seconds)
    raise JiraError(400, BAD_DATE.format(value, field))


_SORT_KEYS: dict[str, Callable[[JiraState, Issue], Any]] = {
    "key": lambda s, i: (s.catalog.projects[i.project_id].key, i.number),
    "issuekey": lambda s, i: (s.catalog.projects[i.project_id].key, i.number),
    "id": lambda s, i: i.id,
    "rank": lambda s, i: i.id,
    "created": lambda s, i: i.created,
    "updated": lambda s, i: i.updated,
    "resolved": lambda s, i: i.resolutiondate or datetime.max.replace(tzinfo=UTC),
    "resolutiondate": lambda s, i: i.resolutiondate or datetime.max.replace(tzinfo=UTC),
    "summary": lambda s, i: i.summary.lower(),
    "status": lambda s, i: s.catalog.statuses[i.status_id]["name"],
    "priority": lambda s, i: int(i.priority_id) if i.priority_id.isdigit() else 0,
    "issuetype": lambda s, i: s.catalog.issue_types[i.type_id]["name"],
    "project": lambda s, i: s.catalog.projects[i.project_id].key,
}


def _sorted(
    state: JiraState, issues: list[Issue], order: tuple[tuple[str, bool], ...]
) -> list[Issue]:
    # With no ORDER BY the sandbox answers newest first, so paging is stable and deterministic.
    ordered = sorted(issues, key=lambda i: i.id, reverse=True)
    for field, descending in reversed(order):
        sort_key = _SORT_KEYS.get(field.lower())
        if sort_key is None:
            raise JiraError(400, NO_FIELD.format(field))
        ordered.sort(key=lambda i, k=sort_key: k(state, i), reverse=descending)  # type: ignore[misc]
    return ordered
