"""The baseline: which issues are agreed scope and which are new, as pure rules over plain data.

PRODUCT.md's rule: a scope change is an issue of the project created after the baseline (or absent
from the captured snapshot), or moved into the project after it, whose type is not excluded and
which is not a sub-task of a baseline issue. The newest captured baseline takes precedence over the
mapping's date; a project with neither flags nothing.

A "baseline issue" is one that was in the project at the baseline, whatever its type: the snapshot
holds it, or (with only a date) it was created by then and not moved in later.

`current_baseline` and `baseline_members` are the database edge; everything else is pure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, or_, select

from mappings.model import Project
from reports import formats
from reports.hours import counts_as_scope
from service.scope.pricing import IssueFacts
from service.store import schema


@dataclass(frozen=True)
class Baseline:
    """The baseline in force for a project: a captured snapshot, the mapping's date, or nothing."""

    at: datetime | None  # the mapping's date, or when the snapshot was captured; None: no baseline
    captured_id: int | None = None  # `baselines.id` when a captured snapshot is the baseline
    version: int | None = None
    name: str | None = None

    @property
    def captured(self) -> bool:
        return self.captured_id is not None

    def label(self, tz: str = "UTC", locale: str = formats.DEFAULT_LOCALE) -> str:
        """The date the client agreed to, as "1 Sep 2026", in the project's own time zone."""
        if self.at is None:
            return "no baseline"
        return formats.date(self.at, locale, tz=tz)

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat() if self.at else None,
            "version": self.version,
            "name": self.name,
        }


NO_BASELINE = Baseline(at=None)


@dataclass(frozen=True)
class Verdict:
    flag: bool
    reason: str  # for logs and tests: why it is, or is not, new scope


def is_scope_change(
    issue: IssueFacts, project: Project, baseline: Baseline, baseline_issue_ids: Collection[str]
) -> Verdict:
    """Is this issue new scope? `baseline_issue_ids` must hold its parent's id if that parent is a
    baseline issue, and (with a captured baseline) its own id if the snapshot has it."""
    if baseline.at is None:
        return Verdict(False, "the project has no baseline")
    if not counts_as_scope(issue.issue_type, project):
        return Verdict(False, f"{issue.issue_type} is an excluded type")
    if issue.is_subtask and issue.parent_id in baseline_issue_ids:
        return Verdict(False, "a sub-task of a baseline issue")
    if issue.is_subtask:
        # Its parent is new scope (priced once, as a whole) or excluded; flagging the parts as
        # well would show the client the same work twice.
        return Verdict(False, "a sub-task: its parent carries the scope")
    if in_baseline(issue, baseline, baseline_issue_ids):
        return Verdict(False, "in the baseline")
    if baseline.captured:
        return Verdict(True, f"absent from the baseline captured {baseline.label()}")
    if issue.moved_in_at is not None and issue.moved_in_at > baseline.at:
        return Verdict(True, "moved into the project after the baseline")
    if issue.created is None:
        # Without a creation time we cannot tell; telling a client "new scope" needs evidence.
        return Verdict(False, "creation time unknown")
    return Verdict(True, "created after the baseline")


def in_baseline(issue: IssueFacts, baseline: Baseline, baseline_issue_ids: Collection[str]) -> bool:
    """Was the issue in the project at the baseline (whatever its type)?"""
    if baseline.at is None:
        return False
    if baseline.captured:
        return issue.id in baseline_issue_ids
    return (
        issue.created is not None
        and issue.created <= baseline.at
        and (issue.moved_in_at is None or issue.moved_in_at <= baseline.at)
    )


def is_growth_candidate(
    issue: IssueFacts, project: Project, baseline: Baseline, baseline_issue_ids: Collection[str]
) -> bool:
    """A baseline issue whose estimate counts: excluded types are not scope, nor is their growth."""
    return counts_as_scope(issue.issue_type, project) and in_baseline(
        issue, baseline, baseline_issue_ids
    )


def growth(old_hours: float | None, new_hours: float | None) -> float | None:
    """How much an estimate rose, or None when it did not.

    A first estimate on an unpriced issue is growth from nothing: the agreed scope had no figure
    for that work. Lower or removed estimates are not growth.
    """
    if new_hours is None:
        return None
    rise = new_hours - (old_hours or 0.0)
    return rise if rise > 0 else None


# --- the database edge ---------------------------------------------------------------------------


_b = schema.baselines.c
_NEWEST_CAPTURED = (
    select(_b.id, _b.version, _b.name, _b.captured_at)
    .where(_b.project_key == bindparam("project_key"))
    .order_by(_b.version.desc())
    .limit(1)
)


def current_baseline(
    conn: Connection, project: Project, cache: dict[str, Baseline] | None = None
) -> Baseline:
    """The newest captured baseline of the project, else the mapping's date, else none.

    With a `cache` (the worker's batch holds one), each project's is read once per batch: a
    capture committed while a batch runs applies from the next batch on, as if the batch had run
    just before it.
    """
    if cache is not None and project.key in cache:
        return cache[project.key]
    row = conn.execute(_NEWEST_CAPTURED, {"project_key": project.key}).first()
    if row is not None:
        found = Baseline(at=row.captured_at, captured_id=row.id, version=row.version, name=row.name)
    else:
        found = NO_BASELINE if project.baseline is None else Baseline(at=project.baseline)
    if cache is not None:
        cache[project.key] = found
    return found


def baseline_members(
    conn: Connection, baseline: Baseline, project: Project, issue_ids: Iterable[str | None]
) -> frozenset[str]:
    """Which of `issue_ids` are baseline issues. Asked per event for an issue and its parent, so a
    large project's snapshot is never loaded whole."""
    wanted = sorted({i for i in issue_ids if i})
    if not wanted or baseline.at is None:
        return frozenset()
    if baseline.captured:
        item = schema.baseline_items.c
        query = select(item.issue_id).where(
            item.baseline_id == baseline.captured_id, item.issue_id.in_(wanted)
        )
    else:
        issue = schema.issues.c
        query = select(issue.id).where(
            issue.id.in_(wanted),
            issue.project_key == project.key,
            issue.created <= baseline.at,
            or_(issue.moved_in_at.is_(None), issue.moved_in_at <= baseline.at),
        )
    return frozenset(str(i) for i in conn.execute(query).scalars())
