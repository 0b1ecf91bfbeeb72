"""Helpers for the scope tests: one small mapping with round numbers, mirror rows by hand.

Rates and capacity are chosen so that PRODUCT.md's example reads exactly: 10 h at EUR 80 is
EUR 800, and 10 h at 24 h a day (120 h a week over 5 days) is 0.4 working days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mappings.model import DigestSchedule, JiraFields, Mapping, Project, Rate
from service.store import schema

BASELINE_AT = datetime(2026, 9, 1, 9, tzinfo=UTC)
BEFORE = datetime(2026, 8, 20, 10, tzinfo=UTC)
AFTER = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 16, 10, tzinfo=UTC)
DEV, DESIGNER, STRANGER = "acct-dev", "acct-designer", "acct-client"

ACME = Project(
    key="ACME",
    client="Acme Corp",
    currency="EUR",
    budget=120_000,
    start=date(2026, 9, 1),
    end=date(2027, 1, 29),
    baseline=BASELINE_AT,
    hours_per_point=6,
    weekly_capacity_hours=120,
    default_rate=85,
    exclude_types=("Bug",),
    digest=DigestSchedule(tz="Europe/Berlin"),
)
UNDATED = Project(
    key="NODATE",
    client="No Date Ltd",
    currency="GBP",
    budget=1000,
    start=date(2026, 9, 1),
    end=date(2026, 12, 1),
    baseline=None,
    hours_per_point=5,
    weekly_capacity_hours=40,
    default_rate=60,
)
MAPPING = Mapping(
    jira=JiraFields(impact_hours_field="customfield_10150", impact_cost_field="customfield_10151"),
    projects=(ACME, UNDATED),
    rates=(("developer", Rate(80.0)), ("designer", Rate(70.0))),
    people=((DEV, "developer"), (DESIGNER, "designer")),
    estimates=(("Story", 8.0), ("Task", 4.0)),
)


def issue_row(issue_id: str = "10031", **fields: Any) -> dict[str, Any]:
    """A mirror row as the worker would have written it; a new Story by default."""
    row: dict[str, Any] = {
        "id": issue_id,
        "key": f"ACME-{issue_id[-2:]}",
        "project_key": "ACME",
        "summary": "Export invoices as PDF",
        "issue_type": "Story",
        "is_subtask": False,
        "parent_id": None,
        "status": "To Do",
        "status_category": "new",
        "assignee": DEV,
        "components": [],
        "labels": [],
        "fix_versions": [],
        "original_estimate_seconds": 10 * 3600,
        "story_points": None,
        "created": AFTER,
        "updated": AFTER,
        "moved_in_at": None,
        "deleted": False,
        "event_ts": 1,
    }
    row.update(fields)
    return row


def put_issue(conn: Connection, issue_id: str = "10031", **fields: Any) -> dict[str, Any] | None:
    """Inserts or changes a mirror row; returns the row as it was before (None if new)."""
    before = (
        conn.execute(select(schema.issues).where(schema.issues.c.id == issue_id)).mappings().first()
    )
    if before is None:
        conn.execute(insert(schema.issues).values(issue_row(issue_id, **fields)))
        return None
    if fields:
        conn.execute(update(schema.issues).where(schema.issues.c.id == issue_id).values(**fields))
    return dict(before)


def rows(conn: Connection, table: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(table).order_by(*table.primary_key)).mappings()]
