"""The site's fixed configuration, read from the seed: users, statuses, types, fields, projects.

It changes only on reset, so lookups need no lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import JiraError


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(row[key]): row for row in rows}


def _by_lower(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(row[key]).lower(): row for row in rows}


@dataclass
class Project:
    id: str
    key: str
    name: str
    description: str
    lead: str | None
    category: dict[str, Any] | None
    components: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id

    def component(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        return _find(self.components, ref)

    def version(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        return _find(self.versions, ref)


def _find(rows: dict[str, dict[str, Any]], ref: dict[str, Any]) -> dict[str, Any] | None:
    """Jira accepts `{"id": ...}` or `{"name": ...}` wherever it names a configured thing."""
    if not isinstance(ref, dict):
        return None
    if "id" in ref:
        return rows.get(str(ref["id"]))
    name = str(ref.get("name", "")).lower()
    return next((row for row in rows.values() if row["name"].lower() == name), None)


class Catalog:
    """Read-only lookups over the seed's configuration sections."""

    def __init__(self, seed: dict[str, Any]) -> None:
        site = seed.get("site", {})
        self.title: str = site.get("title", "Sandbox Jira")
        self.actor: str = site["actor"]
        self.users = _by(seed["users"], "accountId")
        self.users_by_email = _by_lower(seed["users"], "emailAddress")
        self.categories = {row["key"]: row for row in seed["statusCategories"]}
        self.statuses = _by(seed["statuses"], "id")
        self.statuses_by_name = _by_lower(seed["statuses"], "name")
        self.issue_types = _by(seed["issueTypes"], "id")
        self.issue_types_by_name = _by_lower(seed["issueTypes"], "name")
        self.priorities = _by(seed["priorities"], "id")
        self.priorities_by_name = _by_lower(seed["priorities"], "name")
        self.link_types = _by(seed["linkTypes"], "id")
        self.custom_fields = _by(seed["customFields"], "id")
        self.sprints = {int(row["id"]): row for row in seed.get("sprints", [])}
        self.projects: dict[str, Project] = {}
        for row in seed["projects"]:
            project = Project(
                id=str(row["id"]),
                key=row["key"],
                name=row["name"],
                description=row.get("description", ""),
                lead=row.get("lead"),
                category=row.get("category"),
                components={str(c["id"]): c for c in row.get("components", [])},
                versions={str(v["id"]): v for v in row.get("versions", [])},
            )
            self.projects[project.id] = project

    # -- lookups that answer Jira's way when the thing is missing ------------------------------

    def project(self, id_or_key: str) -> Project:
        found = self.find_project(id_or_key)
        if found is None:
            raise JiraError(404, f"No project could be found with key '{id_or_key}'.")
        return found

    def find_project(self, id_or_key: Any) -> Project | None:
        text = str(id_or_key)
        if text in self.projects:
            return self.projects[text]
        return next((p for p in self.projects.values() if p.key.upper() == text.upper()), None)

    def project_from_ref(self, ref: Any) -> Project | None:
        if isinstance(ref, dict):
            return self.find_project(ref.get("id", ref.get("key", "")))
        return self.find_project(ref) if isinstance(ref, str) else None

    def issue_type_from_ref(self, ref: Any) -> dict[str, Any] | None:
        if not isinstance(ref, dict):
            return None
        if "id" in ref:
            return self.issue_types.get(str(ref["id"]))
        return self.issue_types_by_name.get(str(ref.get("name", "")).lower())

    def priority_from_ref(self, ref: Any) -> dict[str, Any] | None:
        if not isinstance(ref, dict):
            return None
        if "id" in ref:
            return self.priorities.get(str(ref["id"]))
        return self.priorities_by_name.get(str(ref.get("name", "")).lower())

    def link_type_from_ref(self, ref: Any) -> dict[str, Any] | None:
        if not isinstance(ref, dict):
            return None
        if "id" in ref:
            return self.link_types.get(str(ref["id"]))
        name = str(ref.get("name", "")).lower()
        return next((t for t in self.link_types.values() if t["name"].lower() == name), None)

    def user_from_ref(self, ref: Any) -> str | None:
        """Cloud names people by accountId only; `name`/`key` are gone (GDPR), so they fail."""
        if isinstance(ref, dict) and ref.get("accountId") in self.users:
            return str(ref["accountId"])
        return None

    def status_by_name(self, name: str) -> dict[str, Any] | None:
        return self.statuses_by_name.get(name.lower())

    def category_of(self, status_id: str) -> dict[str, Any]:
        return self.categories[self.statuses[status_id]["category"]]

    def user_for_login(self, login: str | None) -> str:
        """The account a call acts as: the user whose e-mail is the login, else the site actor."""
        row = self.users_by_email.get((login or "").lower())
        return str(row["accountId"]) if row else self.actor

    @property
    def initial_status(self) -> dict[str, Any]:
        return next(s for s in self.statuses.values() if s["category"] == "new")

    @property
    def done_resolution(self) -> dict[str, str]:
        return {
            "id": "10000",
            "name": "Done",
            "description": "Work has been completed on this issue.",
        }
