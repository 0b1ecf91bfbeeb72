"""First contact: an old Jira issue flagged today is not a decision "overdue" for months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from service.digest.build import build_digest
from service.scope.engine import evaluate_issue
from service.store import schema
from tests.scope.scope_support import issue_row
from tests.support import NOW

MONTHS_AGO = datetime(2026, 9, 10, 9, tzinfo=UTC)  # after the sandbox mapping's baseline date


def test_a_months_old_issue_detected_today_is_not_overdue_but_one_waiting_since_is(app):
    rt = app.extensions["scopewatch"]
    with rt.engine.begin() as conn:
        for issue_id, detected in (("10041", NOW), ("10042", NOW - timedelta(days=10))):
            conn.execute(
                insert(schema.issues).values(
                    issue_row(issue_id, summary=f"Old work {issue_id}", created=MONTHS_AGO)
                )
            )
            evaluate_issue(conn, rt.mapping, issue_id, detected)

    digest = build_digest(rt, "ACME", "2026-W48", NOW)

    overdue = [r["title"] for r in digest["risks"] if "overdue" in r["title"]]
    # ACME-41 was created in September but flagged this week: nobody could decide before.
    assert overdue == ["A decision on ACME-42 is overdue"]
    (why,) = [r["why"] for r in digest["risks"] if "ACME-42" in r["title"]]
    # flagged 14 Nov 10:00 UTC; week 48 is still running at NOW (24 Nov 10:00): ages run to now
    assert "has waited 10 days" in why
