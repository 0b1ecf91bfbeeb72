"""Reading Jira's JSON defensively: Cloud and Data Center shapes, missing blocks, null fields.

Webhook bodies and REST answers share the REST v2 issue shape, so one reader serves the worker and
reconcile alike. Nothing here touches the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mappings.model import Mapping
from service.jira.adf import comment_text


def dig(data: Any, *path: str | int, default: Any = None) -> Any:
    """`data[path[0]][path[1]]…`, or `default` as soon as a step is missing or of the wrong kind."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return default
        elif not isinstance(data, dict) or step not in data:
            return default
        data = data[step]
    return default if data is None else data


def parse_time(value: Any) -> datetime | None:
    """Jira's `2026-11-16T10:15:30.123+0530` (any offset), ISO strings, or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # a bare date or a zone-less time: Jira means UTC there
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def user_id(user: Any) -> str | None:
    """Cloud identifies people by accountId; Data Center by name (or key on very old versions)."""
    if not isinstance(user, dict):
        return None
    for field in ("accountId", "name", "key"):
        value = user.get(field)
        if isinstance(value, str) and value:
            return value
    return None


def person(user: Any) -> dict[str, str] | None:
    """`{id, display_name}` of a Jira user object, when it names one."""
    uid = user_id(user)
    name = user.get("displayName") if isinstance(user, dict) else None
    if uid is None or not isinstance(name, str) or not name.strip():
        return None
    return {"id": uid, "display_name": name.strip()[:300]}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _estimate_seconds(fields: dict[str, Any]) -> int | None:
    seconds = _number(fields.get("timeoriginalestimate"))
    if seconds is None:
        seconds = _number(dig(fields, "timetracking", "originalEstimateSeconds"))
    return None if seconds is None else int(seconds)


def _names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(i["name"]) for i in items if isinstance(i, dict) and i.get("name")]


def _versions(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [
        {
            "id": str(v.get("id", "")),
            "name": v["name"],
            "releaseDate": v.get("releaseDate"),
            "released": bool(v.get("released", False)),
        }
        for v in items
        if isinstance(v, dict) and v.get("name")
    ]


def issue_row(issue: dict[str, Any], mapping: Mapping) -> dict[str, Any] | None:
    """The mirror's columns for one issue, or None when the body holds no usable issue."""
    issue_id = issue.get("id")
    raw_fields = issue.get("fields")
    fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
    project_key = dig(fields, "project", "key") or _project_from_key(issue.get("key"))
    if not issue_id or not issue.get("key") or not project_key:
        return None
    flagged = fields.get(mapping.jira.flagged_field)
    labels = fields.get("labels")
    return {
        "id": str(issue_id),
        "key": str(issue["key"]),
        "project_key": str(project_key),
        "summary": str(fields.get("summary") or ""),
        "issue_type": str(dig(fields, "issuetype", "name", default="")),
        "is_subtask": bool(dig(fields, "issuetype", "subtask", default=False)),
        "parent_id": _str_or_none(dig(fields, "parent", "id")),
        "status": str(dig(fields, "status", "name", default="")),
        "status_category": str(dig(fields, "status", "statusCategory", "key", default="new")),
        "assignee": user_id(fields.get("assignee")),
        "reporter": user_id(fields.get("reporter")),
        "components": _names(fields.get("components")),
        "labels": [str(label) for label in labels] if isinstance(labels, list) else [],
        "fix_versions": _versions(fields.get("fixVersions")),
        "original_estimate_seconds": _estimate_seconds(fields),
        "story_points": _number(fields.get(mapping.jira.story_points_field)),
        "flagged": bool(flagged),
        "created": parse_time(fields.get("created")),
        "updated": parse_time(fields.get("updated")),
        "resolved": parse_time(fields.get("resolutiondate")),
    }


def _project_from_key(key: Any) -> str | None:
    if isinstance(key, str) and "-" in key:
        return key.rsplit("-", 1)[0]
    return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def worklog_row(worklog: dict[str, Any], issue_id: str | None = None) -> dict[str, Any] | None:
    """A worklog; Cloud's worklog events carry only `issueId`, Data Center's sit inside an issue."""
    wid = worklog.get("id")
    issue = worklog.get("issueId") or issue_id
    started = parse_time(worklog.get("started"))
    seconds = _number(worklog.get("timeSpentSeconds"))
    if not wid or not issue or started is None or seconds is None:
        return None
    updated = parse_time(worklog.get("updated")) or parse_time(worklog.get("created")) or started
    return {
        "id": str(wid),
        "issue_id": str(issue),
        "author": user_id(worklog.get("author")),
        "started": started,
        "seconds": int(seconds),
        "updated": updated,
    }


def comment_row(comment: dict[str, Any], issue_id: str) -> dict[str, Any] | None:
    cid = comment.get("id")
    if not cid:
        return None
    return {
        "id": str(cid),
        "issue_id": issue_id,
        "author": user_id(comment.get("author")),
        # The same reading as the REST client's: one comment, one text (see service.jira.adf).
        "body": comment_text(comment.get("body")),
        "created": parse_time(comment.get("created")),
        "updated": parse_time(comment.get("updated")),
    }


def link_row(link: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    lid, source, dest = link.get("id"), link.get("sourceIssueId"), link.get("destinationIssueId")
    if not lid or not source or not dest:
        return None
    return {
        "id": str(lid),
        "source_issue_id": str(source),
        "destination_issue_id": str(dest),
        "link_type": str(dig(link, "issueLinkType", "name", default="")),
        "created": at,
    }


def changelog_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = dig(body, "changelog", "items", default=[])
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def event_time(body: dict[str, Any], fallback: datetime) -> tuple[int, datetime]:
    """The delivery's `timestamp` (ms) and the same as a datetime; old bodies may lack it."""
    ts = body.get("timestamp")
    if isinstance(ts, int | float) and not isinstance(ts, bool) and ts > 0:
        return int(ts), datetime.fromtimestamp(ts / 1000, UTC)
    return int(fallback.timestamp() * 1000), fallback


def last_change_times(issue: dict[str, Any], flagged_field: str) -> dict[str, datetime]:
    """When the issue's current status and flag began, from an embedded changelog (REST answers
    with `expand=changelog`); empty when there is none. Webhooks carry only their own change."""
    found: dict[str, datetime] = {}
    for history in dig(issue, "changelog", "histories", default=[]):
        at = parse_time(history.get("created")) if isinstance(history, dict) else None
        if at is None:
            continue
        for item in history.get("items") or []:
            field = item.get("fieldId") or item.get("field") if isinstance(item, dict) else None
            key = {
                "status": "status_since",
                flagged_field: "flagged_since",
                "Flagged": "flagged_since",
            }.get(str(field))
            if key and (key not in found or at > found[key]):
                found[key] = at
    return found
