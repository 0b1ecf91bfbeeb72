"""Editing an issue's fields the way Jira's edit, create and transition calls do.

An edit works on a *snapshot* (field id -> stored value): operations from `fields` ("set") and
`update` ("set", "add", "remove", "edit") are applied to a copy, every bad value is collected into
Jira's `errors` map, and only a clean result is committed. The changelog is the diff of the two
snapshots, so every path that changes an issue (edit, transition, move) logs the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .adf import to_text
from .catalog import Catalog, Project
from .errors import JiraError
from .formats import parse_duration
from .records import Issue

UNKNOWN_FIELD = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


class FieldError(Exception):
    """One field's value is unacceptable; the message is what Jira puts under `errors[field]`."""


@dataclass
class Context:
    catalog: Catalog
    find_issue: Callable[[Any], Issue | None]
    snapshot: dict[str, Any]
    time_spent: int

    @property
    def project(self) -> Project:  # the project the issue is (or is moving) in
        return self.catalog.projects[self.snapshot["project"]]


def snapshot_of(issue: Issue) -> dict[str, Any]:
    values: dict[str, Any] = {
        "summary": issue.summary,
        "issuetype": issue.type_id,
        "project": issue.project_id,
        "parent": issue.parent_id,
        "status": issue.status_id,
        "resolution": "10000" if issue.resolutiondate else None,
        "priority": issue.priority_id,
        "assignee": issue.assignee,
        "reporter": issue.reporter,
        "description": issue.description,
        "duedate": issue.duedate,
        "labels": list(issue.labels),
        "components": list(issue.component_ids),
        "fixVersions": list(issue.version_ids),
        "timeoriginalestimate": issue.original_estimate,
        "timeestimate": issue.remaining_estimate,
    }
    values.update({k: _copy(v) for k, v in issue.custom.items()})
    return values


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def commit(issue: Issue, values: dict[str, Any], catalog: Catalog) -> None:
    issue.summary = values["summary"]
    issue.type_id = values["issuetype"]
    issue.project_id = values["project"]
    issue.parent_id = values["parent"]
    issue.status_id = values["status"]
    issue.priority_id = values["priority"]
    issue.assignee = values["assignee"]
    issue.reporter = values["reporter"]
    issue.description = values["description"]
    issue.duedate = values["duedate"]
    issue.labels = values["labels"]
    issue.component_ids = values["components"]
    issue.version_ids = values["fixVersions"]
    issue.original_estimate = values["timeoriginalestimate"]
    issue.remaining_estimate = values["timeestimate"]
    issue.custom = {k: values.get(k) for k in catalog.custom_fields}


# -- value parsers: Jira's request shape -> stored value --------------------------------------


def _summary(ctx: Context, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("You must specify a summary of the issue.")
    if "\n" in value:
        raise FieldError("The summary is invalid because it contains newline characters.")
    return value


def _description(ctx: Context, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, dict) and value.get("type") == "doc":
        return to_text(value) or None
    raise FieldError("Operation value must be a string")


def _user(ctx: Context, value: Any) -> str | None:
    if value is None:
        return None
    account = ctx.catalog.user_from_ref(value)
    if account is None:
        raise FieldError("Specified user does not exist or you do not have required permissions")
    return account


def _priority(ctx: Context, value: Any) -> str:
    row = ctx.catalog.priority_from_ref(value)
    if row is None:
        raise FieldError("Specify a valid priority.")
    return str(row["id"])


def _duedate(ctx: Context, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise FieldError("Error parsing date string: " + str(value))
    return value


def _label(ctx: Context, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise FieldError("Operation value must be a string")
    if " " in value:
        raise FieldError(f"The label '{value}' contains spaces which is invalid.")
    return value


def _labels(ctx: Context, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise FieldError("data was not an array")
    return list(dict.fromkeys(_label(ctx, v) for v in value))


def _component(ctx: Context, value: Any) -> str:
    row = ctx.project.component(value)
    if row is None:
        raise FieldError(f"Component name '{_ref_text(value)}' is not valid")
    return str(row["id"])


def _version(ctx: Context, value: Any) -> str:
    row = ctx.project.version(value)
    if row is None:
        raise FieldError(f"Version name '{_ref_text(value)}' is not valid")
    return str(row["id"])


def _ref_text(value: Any) -> str:
    return str(value.get("name", value.get("id"))) if isinstance(value, dict) else str(value)


def _list_of(item: Callable[[Context, Any], str]) -> Callable[[Context, Any], list[str]]:
    def parse(ctx: Context, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise FieldError("data was not an array")
        return list(dict.fromkeys(item(ctx, v) for v in value))

    return parse


def _issuetype(ctx: Context, value: Any) -> str:
    row = ctx.catalog.issue_type_from_ref(value)
    if row is None:
        raise FieldError("Specify an issue type")
    return str(row["id"])


def _project(ctx: Context, value: Any) -> str:
    project = ctx.catalog.project_from_ref(value)
    if project is None:
        raise FieldError("Specify a valid project ID or key")
    return project.id


def _parent(ctx: Context, value: Any) -> int | None:
    if value is None:
        return None
    ref = value.get("id", value.get("key")) if isinstance(value, dict) else None
    issue = ctx.find_issue(ref) if ref is not None else None
    if issue is None:
        raise FieldError("Could not find issue by id or key.")
    return issue.id


def _number(ctx: Context, value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError("Operation value must be a number")
    return value


def _sprint(ctx: Context, value: Any) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in ctx.catalog.sprints:
        raise FieldError("Sprint with id " + str(value) + " does not exist")
    return [value]


def _options(field_id: str) -> Callable[[Context, Any], list[str] | None]:
    def parse(ctx: Context, value: Any) -> list[str] | None:
        if value is None or value == []:
            return None
        if not isinstance(value, list):
            raise FieldError("data was not an array")
        known = ctx.catalog.custom_fields[field_id].get("options", [])
        ids = []
        for ref in value:
            ref = ref if isinstance(ref, dict) else {}
            match = next(
                (
                    o
                    for o in known
                    if str(o["id"]) == str(ref.get("id")) or o["value"] == ref.get("value")
                ),
                None,
            )
            if match is None:
                raise FieldError(f"Option value '{_option_text(ref)}' is not valid")
            ids.append(str(match["id"]))
        return list(dict.fromkeys(ids))

    return parse


def _option_text(ref: dict[str, Any]) -> str:
    return str(ref.get("value", ref.get("id", "")))


SETTERS: dict[str, Callable[[Context, Any], Any]] = {
    "summary": _summary,
    "description": _description,
    "issuetype": _issuetype,
    "project": _project,
    "parent": _parent,
    "priority": _priority,
    "assignee": _user,
    "reporter": _user,
    "duedate": _duedate,
    "labels": _labels,
    "components": _list_of(_component),
    "fixVersions": _list_of(_version),
}
ITEMS: dict[str, Callable[[Context, Any], str]] = {
    "labels": _label,
    "components": _component,
    "fixVersions": _version,
}


def _custom_setter(catalog: Catalog, field_id: str) -> Callable[[Context, Any], Any] | None:
    row = catalog.custom_fields.get(field_id)
    if row is None:
        return None
    schema = row["schema"]
    if schema.get("custom", "").endswith(":gh-sprint"):
        return _sprint
    if schema.get("items") == "option":
        return _options(field_id)
    if schema["type"] == "number":
        return _number
    return lambda ctx, value: value


# -- operations --------------------------------------------------------------------------------


def apply(ctx: Context, fields: dict[str, Any], update: dict[str, Any]) -> None:
    """Apply `fields` then `update` to `ctx.snapshot`; raise one 400 listing every bad field."""
    errors: dict[str, str] = {}
    operations = [(name, "set", value) for name, value in fields.items()]
    for name, ops in update.items():
        if not isinstance(ops, list):
            errors[name] = "Operation must be an array"
            continue
        for op in ops:
            if isinstance(op, dict) and len(op) == 1:
                ((verb, value),) = op.items()
                operations.append((name, verb, value))
            else:
                errors[name] = "Each operation must name exactly one verb"
    for name, verb, value in operations:
        if name in errors or name in ("comment", "worklog"):  # handled by the caller
            continue
        try:
            _apply_one(ctx, name, verb, value)
        except FieldError as exc:
            errors[name] = str(exc)
    if errors:
        raise JiraError(400, errors=errors)


def _apply_one(ctx: Context, name: str, verb: str, value: Any) -> None:
    if name == "timetracking":
        if verb not in ("set", "edit"):
            raise FieldError(f"Operation '{verb}' is not supported for timetracking")
        _timetracking(ctx, value)
        return
    setter = SETTERS.get(name) or _custom_setter(ctx.catalog, name)
    if setter is None:
        raise FieldError(UNKNOWN_FIELD.format(name))
    if verb == "set":
        ctx.snapshot[name] = setter(ctx, value)
        if name == "project":
            ctx.snapshot["components"], ctx.snapshot["fixVersions"] = [], []
    elif verb in ("add", "remove") and name in ITEMS:
        item = ITEMS[name](ctx, value)
        current = [v for v in ctx.snapshot[name] if v != item]
        ctx.snapshot[name] = current + [item] if verb == "add" else current
    else:
        raise FieldError(f"Operation '{verb}' is not supported for field '{name}'")


def _timetracking(ctx: Context, value: Any) -> None:
    if not isinstance(value, dict):
        raise FieldError("Operation value must be an object")
    try:
        original = value.get("originalEstimate")
        remaining = value.get("remainingEstimate")
        if original is not None:
            ctx.snapshot["timeoriginalestimate"] = parse_duration(original)
            # Jira starts the remaining estimate at the original until work is logged.
            if remaining is None and (ctx.snapshot["timeestimate"] is None or not ctx.time_spent):
                ctx.snapshot["timeestimate"] = ctx.snapshot["timeoriginalestimate"]
        if remaining is not None:
            ctx.snapshot["timeestimate"] = parse_duration(remaining)
    except ValueError as exc:
        raise FieldError("Invalid time format: " + str(exc)) from exc
