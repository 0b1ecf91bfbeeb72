"""A parent carried by its children: the scope engine's side of `reports.hours`' parent rule.

The digest counts a parent (an epic, a story with sub-tasks) whose children in scope are priced
at 0 h: its children carry its work (`reports.hours.carried_by_children`). The engine prices a
new parent the same way, so the Jira comment, the API and the digest agree and nobody reads the
same hours twice: a carried parent is a change of 0 h and no cost, and its comment says which
children carry its price (each of them is a change with its own price and decision).

"In scope", as the digest has it: baseline issues (and changes judged agreed work) at their
hours, pending and approved changes at their price. Rejected and withdrawn changes carry nothing,
nor do issues of excluded types, nor the sub-tasks of a new story (never flagged on their own:
the story carries them). An epic flagged before its stories exist is priced at its own hours;
each story that arrives re-prices it (`service.scope.reprice.reprice_parents`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from mappings.model import Mapping, Project
from reports.hours import MAX_DEPTH, carried_by_children, counts_as_scope
from service.scope.baseline import Baseline, baseline_members, in_baseline
from service.scope.model import ScopeChange
from service.scope.pricing import Hours, IssueFacts, hours_for
from service.store import schema

_i = schema.issues.c
_sc = schema.scope_changes.c
KEPT = ("pending", "approved")  # the changes still to be delivered, as the digest counts them


def carrying_children(
    conn: Connection, mapping: Mapping, project: Project, baseline: Baseline, issue_id: str
) -> tuple[str, ...]:
    """Keys of the priced issues below `issue_id` that carry its work; empty when none do."""
    below = _descendants(conn, project, issue_id)
    if not below:
        return ()
    hours = _hours_in_scope(conn, mapping, project, baseline, below)
    # The parent is a member too, whatever its own hours: the rule asks whether it is carried.
    members = pd.concat([hours, pd.Series([float("nan")], index=[issue_id])])
    parent_of = pd.Series(
        [issue.parent_id for issue in below], index=[issue.id for issue in below], dtype=object
    )
    if issue_id not in carried_by_children(members, parent_of):
        return ()
    priced = hours[hours.notna()].index
    return tuple(sorted(issue.key for issue in below if issue.id in priced))


def scope_hours_for(
    conn: Connection, mapping: Mapping, project: Project, baseline: Baseline, issue: IssueFacts
) -> Hours:
    """The issue's hours as a change counts them: its own (`hours_for`), or 0 h when carried."""
    own = hours_for(issue, project, mapping)
    if carrying_children(conn, mapping, project, baseline, issue.id):
        return Hours(0.0, own.source)
    return own


def _descendants(conn: Connection, project: Project, issue_id: str) -> list[IssueFacts]:
    """The issue's children, their children, and so on, in the project (not deleted)."""
    found: list[IssueFacts] = []
    frontier = [issue_id]
    for _ in range(MAX_DEPTH):
        rows = conn.execute(
            select(schema.issues).where(
                _i.parent_id.in_(frontier),
                _i.project_key == project.key,
                _i.deleted.is_(False),
            )
        ).mappings()
        level = [IssueFacts.from_row(row) for row in rows]
        seen = {issue.id for issue in found} | {issue_id}
        level = [issue for issue in level if issue.id not in seen]  # a loop in bad data
        if not level:
            break
        found.extend(level)
        frontier = [issue.id for issue in level]
    return found


def _hours_in_scope(
    conn: Connection,
    mapping: Mapping,
    project: Project,
    baseline: Baseline,
    issues: list[IssueFacts],
) -> pd.Series:
    """Hours (NaN when unpriced) of those of `issues` in scope, by issue id."""
    ids = [issue.id for issue in issues]
    changes = {
        row["issue_id"]: ScopeChange.from_row(row)
        for row in conn.execute(
            select(schema.scope_changes).where(
                _sc.issue_id.in_(ids), _sc.project_key == project.key, _sc.withdrawn.is_(False)
            )
        ).mappings()
    }
    members = baseline_members(conn, baseline, project, ids)
    hours: dict[str, Any] = {}
    for issue in issues:
        change = changes.get(issue.id)
        if change is not None and change.decision in KEPT:
            hours[issue.id] = change.hours
        elif change is not None and change.decision == "not-scope":
            hours[issue.id] = hours_for(issue, project, mapping).value  # agreed work after all
        elif change is None and _is_baseline_work(issue, project, baseline, members):
            hours[issue.id] = hours_for(issue, project, mapping).value
    return pd.Series(hours, index=list(hours), dtype="float64")


def _is_baseline_work(
    issue: IssueFacts, project: Project, baseline: Baseline, members: frozenset[str]
) -> bool:
    return counts_as_scope(issue.issue_type, project) and in_baseline(issue, baseline, members)
