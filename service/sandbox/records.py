"""The mutable records the sandbox holds: issues and what hangs off them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Comment:
    id: int
    issue_id: int
    author: str
    body: str  # plain text; v3 answers wrap it in ADF
    created: datetime
    updated: datetime
    update_author: str
    # The ADF document a v3 call wrote, which v3 gives back as it came (mentions, emoji, breaks);
    # None when the text came from v2, a seed or an issue edit.
    document: dict[str, Any] | None = None


@dataclass
class Worklog:
    id: int
    issue_id: int
    author: str
    comment: str
    started: datetime
    seconds: int
    created: datetime
    updated: datetime
    update_author: str


@dataclass
class Link:
    id: int
    type_id: str
    outward_id: int  # the source: it "blocks"
    inward_id: int  # the destination: it "is blocked by"


@dataclass
class History:
    """One changelog entry: who changed what, when."""

    id: int
    author: str
    created: datetime
    items: list[dict[str, Any]]


@dataclass
class Issue:
    id: int
    key: str
    project_id: str
    type_id: str
    summary: str
    status_id: str
    priority_id: str
    created: datetime
    updated: datetime
    status_changed: datetime
    reporter: str | None = None
    creator: str | None = None
    assignee: str | None = None
    description: str | None = None
    resolutiondate: datetime | None = None
    duedate: str | None = None
    labels: list[str] = field(default_factory=list)
    component_ids: list[str] = field(default_factory=list)
    version_ids: list[str] = field(default_factory=list)
    original_estimate: int | None = None  # seconds
    remaining_estimate: int | None = None  # seconds
    custom: dict[str, Any] = field(default_factory=dict)  # custom field id -> stored value
    parent_id: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    histories: list[History] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    worklogs: list[Worklog] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])

    @property
    def time_spent(self) -> int:
        return sum(w.seconds for w in self.worklogs)
