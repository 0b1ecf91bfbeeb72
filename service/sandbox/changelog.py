"""Changelog items, as Jira writes them into issue history and `jira:issue_updated` webhooks.

Each item is `{field, fieldtype, fieldId, from, fromString, to, toString}`; ids go in from/to
and display text in the *String halves, exactly as Jira fills them per field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .catalog import Catalog

Item = dict[str, Any]


def item(
    field: str,
    field_id: str | None,
    before: Any,
    before_text: Any,
    after: Any,
    after_text: Any,
    *,
    custom: bool = False,
) -> Item:
    entry: Item = {"field": field, "fieldtype": "custom" if custom else "jira"}
    if field_id:
        entry["fieldId"] = field_id
    entry.update(
        {
            "from": _str(before),
            "fromString": _str(before_text),
            "to": _str(after),
            "toString": _str(after_text),
        }
    )
    return entry


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def number_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class Differ:
    """Turns a before/after pair of issue snapshots into changelog items."""

    def __init__(self, catalog: Catalog, key_of: Callable[[int], str | None]) -> None:
        self.catalog = catalog
        self.key_of = key_of

    def diff(self, old: dict[str, Any], new: dict[str, Any]) -> list[Item]:
        items: list[Item] = []
        for name, before in old.items():
            after = new.get(name)
            if before != after:
                items.extend(self._items(name, before, after))
        return items

    def _items(self, name: str, before: Any, after: Any) -> list[Item]:
        c = self.catalog
        if name in ("summary", "description", "duedate"):
            return [item(name, name, None, before, None, after)]
        if name == "labels":
            return [item("labels", "labels", None, " ".join(before), None, " ".join(after))]
        if name in ("assignee", "reporter"):
            return [item(name, name, before, self._user(before), after, self._user(after))]
        if name == "status":
            status = c.statuses
            return [
                item(
                    "status", "status", before, status[before]["name"], after, status[after]["name"]
                )
            ]
        if name == "resolution":
            text = c.done_resolution["name"]
            return [
                item("resolution", "resolution", before, before and text, after, after and text)
            ]
        if name == "priority":
            names = {k: v["name"] for k, v in c.priorities.items()}
            return [item("priority", "priority", before, names[before], after, names[after])]
        if name == "issuetype":
            names = {k: v["name"] for k, v in c.issue_types.items()}
            return [item("issuetype", "issuetype", before, names[before], after, names[after])]
        if name == "project":
            return [
                item(
                    "project",
                    "project",
                    before,
                    c.projects[before].name,
                    after,
                    c.projects[after].name,
                )
            ]
        if name == "parent":
            return [
                item(
                    "IssueParentAssociation",
                    "parent",
                    before,
                    before and self.key_of(before),
                    after,
                    after and self.key_of(after),
                )
            ]
        if name in ("timeoriginalestimate", "timeestimate", "timespent"):
            return [item(name, name, before, before, after, after)]
        if name in ("components", "fixVersions"):
            return self._membership(name, before, after)
        if name in c.custom_fields:
            return [self._custom(name, before, after)]
        return []

    def _user(self, account_id: str | None) -> str | None:
        return self.catalog.users[account_id]["displayName"] if account_id else None

    def _membership(self, name: str, before: list[str], after: list[str]) -> list[Item]:
        label = "Component" if name == "components" else "Fix Version"
        rows: dict[str, dict[str, Any]] = {}
        for project in self.catalog.projects.values():
            rows.update(project.components if name == "components" else project.versions)
        removed = [
            item(label, name, i, rows[i]["name"], None, None) for i in before if i not in after
        ]
        added = [
            item(label, name, None, None, i, rows[i]["name"]) for i in after if i not in before
        ]
        return removed + added

    def _custom(self, field_id: str, before: Any, after: Any) -> Item:
        row = self.catalog.custom_fields[field_id]
        schema = row["schema"]
        if schema.get("items") == "option":
            names = {str(o["id"]): o["value"] for o in row.get("options", [])}
            return item(
                row["name"],
                field_id,
                _bracket(before),
                _join(before, names),
                _bracket(after),
                _join(after, names),
                custom=True,
            )
        if schema.get("custom", "").endswith(":gh-sprint"):
            sprint_names = {k: v["name"] for k, v in self.catalog.sprints.items()}
            return item(
                row["name"],
                field_id,
                _join(before, None, ", "),
                _join(before, sprint_names, ", "),
                _join(after, None, ", "),
                _join(after, sprint_names, ", "),
                custom=True,
            )
        return item(
            row["name"], field_id, None, number_text(before), None, number_text(after), custom=True
        )


def _bracket(values: list[str] | None) -> str | None:
    return f"[{', '.join(values)}]" if values else None


def _join(values: list[Any] | None, names: dict[Any, Any] | None, sep: str = ",") -> str | None:
    if not values:
        return None
    return sep.join(str(names[v]) if names else str(v) for v in values)
