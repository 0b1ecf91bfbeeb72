"""Decisions can be taken back: not-scope and pending, every decision in the audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.scope.audit import decision_trail
from service.scope.decisions import decide
from service.scope.engine import evaluate_issue
from service.scope.model import Invalid
from service.store import schema
from tests.scope.scope_support import MAPPING, NOW, put_issue, rows

LATER = NOW + timedelta(hours=2)
NEXT_DAY = NOW + timedelta(days=1)


def flag(db, **fields: Any) -> None:
    with db.begin() as conn:
        previous = put_issue(conn, "10031", **fields)
        evaluate_issue(conn, MAPPING, "10031", NOW, previous=previous, actor="Carla Client")


def jobs(db) -> list[dict[str, Any]]:
    with db.begin() as conn:
        return rows(conn, schema.outbox)


def trail(db) -> list[tuple[Any, ...]]:
    with db.begin() as conn:
        change_id = conn.execute(select(schema.scope_changes.c.id)).scalar_one()
        return [
            (
                r["from_decision"],
                r["to_decision"],
                r["channel"],
                r["decided_by"],
                r["note"],
                r["at"],
            )
            for r in decision_trail(conn, change_id)
        ]


def test_not_scope_takes_the_flag_off_and_pending_puts_it_back(db):
    flag(db)
    with db.begin() as conn:
        judged = decide(
            conn, MAPPING, "ACME", "ACME-31", "not-scope", "kickoff work", LATER,
            channel="cli", by="pat",
        )  # fmt: skip
    assert (judged["decision"], judged["decided_by"], judged["decision_channel"]) == (
        "not-scope", "pat", "cli",
    )  # fmt: skip
    assert (judged["decided_at"], judged["decision_note"]) == (LATER.isoformat(), "kickoff work")
    unflag = jobs(db)[-1]
    assert (unflag["kind"], unflag["dedupe_key"]) == ("unflag", f"unflag:{judged_id(db)}:2")
    payload = unflag["payload"]
    assert payload["labels_remove"] == ["scope-change", "scope-approved", "scope-rejected"]
    assert payload["fields"] == {"customfield_10150": None, "customfield_10151": None}
    assert "judged to be agreed work" in payload["comment"]["text"]
    assert payload["comment"]["marker"] in payload["comment"]["text"]
    # The flagging job of version 1, not started yet, is dropped: it would only put the flag on.
    first = jobs(db)[0]
    assert (first["status"], first["last_error"]) == ("done", "superseded by unflag:1:2")

    with db.begin() as conn:
        reopened = decide(
            conn, MAPPING, "ACME", "ACME-31", "pending", None, NEXT_DAY, channel="api", by="ops"
        )
    assert reopened["decision"] == "pending"
    back = jobs(db)[-1]
    assert (back["kind"], back["payload"]["labels_add"]) == ("writeback", ["scope-change"])
    assert back["payload"]["fields"] == {"customfield_10150": 10.0, "customfield_10151": 800.0}
    assert trail(db) == [
        ("pending", "not-scope", "cli", "pat", "kickoff work", LATER),
        ("not-scope", "pending", "api", "ops", None, NEXT_DAY),
    ]


def judged_id(db) -> int:
    with db.begin() as conn:
        return int(conn.execute(select(schema.scope_changes.c.id)).scalar_one())


def test_a_label_decision_in_jira_is_audited_with_the_person(db):
    flag(db)
    with db.begin() as conn:
        previous = put_issue(conn, "10031", labels=["scope-approved"], updated=LATER)
        evaluate_issue(conn, MAPPING, "10031", LATER, previous=previous, actor="Carla Client")
    assert trail(db) == [
        ("pending", "approved", "jira", "Carla Client", "label scope-approved in Jira", LATER)
    ]


def test_a_not_scope_change_is_not_repriced_on_the_ticket(db):
    flag(db)
    with db.begin() as conn:
        decide(conn, MAPPING, "ACME", "ACME-31", "not-scope", None, LATER, channel="cli", by="pat")
    before = len(jobs(db))
    with db.begin() as conn:
        previous = put_issue(conn, "10031", original_estimate_seconds=20 * 3600)
        evaluate_issue(conn, MAPPING, "10031", NEXT_DAY, previous=previous)
    assert len(jobs(db)) == before  # nothing new for Jira: the ticket shows no price
    with db.begin() as conn:
        growth = rows(conn, schema.scope_growth)
    assert [(g["from_hours"], g["to_hours"]) for g in growth] == [(10.0, 20.0)]


def test_every_channel_and_only_known_ones(db):
    flag(db)
    with db.begin() as conn, pytest.raises(Invalid, match="channel must be one of"):
        decide(conn, MAPPING, "ACME", "ACME-31", "approved", None, LATER, channel="fax", by="x")
    for channel in ("web", "email"):
        with db.begin() as conn:
            decide(
                conn, MAPPING, "ACME", "ACME-31", "rejected", channel, LATER,
                channel=channel, by="client@acme.example",
            )  # fmt: skip
    assert [(t[1], t[2]) for t in trail(db)] == [("rejected", "web"), ("rejected", "email")]


def test_the_first_contact_count_asks_for_issues_after_the_date_as_a_period():
    from service.scope.first_contact import created_after_jql
    from tests.scope.scope_support import ACME, UNDATED

    # 76 days and 1 hour before NOW: the same instant in every user's time zone.
    assert created_after_jql(ACME, NOW) == (
        'project = "ACME" AND created > "-109500m" AND issuetype not in ("Bug")'
    )
    assert created_after_jql(UNDATED, NOW) is None
