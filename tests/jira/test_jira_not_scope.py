"""Taking a flag back in Jira, over HTTP against the sandbox: not-scope, then reopening it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from mappings.model import Mapping
from service.jira.client import JiraClient
from service.mirror.events import EventContext, apply_snapshot
from service.outbox import queue as outbox
from service.scope.capture import capture_baseline
from service.scope.changes import list_changes
from service.scope.decisions import decide
from service.scope.writeback import KINDS
from service.store.engine import reader
from service.store.schema import outbox as outbox_table
from service.store.schema import scope_decisions
from tests.jira.jira_site import JiraSite
from tests.support import NOW, go_live

PROPERTY = "scopewatch.impact"


def flagged(engine: Engine, site: JiraSite, client: JiraClient, mapping: Mapping) -> str:
    """A story created in Jira after the baseline, mirrored, flagged and marked in Jira."""
    go_live(engine, "ACME")
    key = site.create_issue(
        "ACME", "Export to CSV", "Story", timetracking={"originalEstimate": "6h"}
    )
    with engine.begin() as conn:
        apply_snapshot(EventContext(conn, mapping, NOW), client.get_issue(key), 1)
    assert outbox.run_due(engine, client, KINDS, now=NOW) == 1
    return key


def decide_now(engine: Engine, mapping: Mapping, key: str, decision: str) -> dict[str, Any]:
    with engine.begin() as conn:
        return decide(
            conn, mapping, "ACME", key, decision, "agreed at kickoff", NOW, channel="cli", by="pat"
        )


def ticket(site: JiraSite, key: str) -> tuple[list[str], Any, Any, Any]:
    fields = site.issue(key)["fields"]
    return (
        fields["labels"],
        fields["customfield_10150"],
        fields["customfield_10151"],
        site.prop(key, PROPERTY),
    )


def ours(site: JiraSite, key: str) -> list[str]:
    return [c for c in site.comments(key) if "[scopewatch change" in c]


def test_not_scope_clears_the_ticket_once_and_pending_puts_the_flag_back(
    engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    key = flagged(engine, site, jira_client, mapping)
    labels, hours, cost, prop = ticket(site, key)
    assert ("scope-change" in labels, hours, prop is not None) == (True, 6.0, True)

    change = decide_now(engine, mapping, key, "not-scope")
    assert change["written_back"] is False
    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 1

    assert ticket(site, key) == ([], None, None, None)
    (comment,) = ours(site, key)
    assert "Not a scope change: judged to be agreed work" in comment
    assert "Pending your approval" not in comment
    with engine.connect() as conn:
        job = (
            conn.execute(select(outbox_table).where(outbox_table.c.kind == "unflag"))
            .mappings()
            .one()
        )
    assert job["status"] == "done"

    # A worker that dies after its Jira calls runs the job again: nothing changes twice.
    site.clear_log()
    again = outbox.Job.from_row({**job, "attempts": 1})
    assert KINDS["unflag"].execute(jira_client, again).written is True
    assert ticket(site, key) == ([], None, None, None)
    assert len(ours(site, key)) == 1
    assert not any(r["method"] == "POST" for r in site.log())  # no second comment
    assert not any(r["method"] == "PUT" and "/comment/" in r["path"] for r in site.log())

    decide_now(engine, mapping, key, "pending")
    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 1

    labels, hours, cost, prop = ticket(site, key)
    assert (labels, hours, cost) == (["scope-change"], 6.0, 510.0)
    assert prop["decision"] == "pending"
    (comment,) = ours(site, key)
    assert "Pending your approval" in comment


def test_a_baseline_capture_takes_in_pending_changes_and_clears_their_flags(
    engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    pending = flagged(engine, site, jira_client, mapping)
    approved = flagged(engine, site, jira_client, mapping)
    decide_now(engine, mapping, approved, "approved")
    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 1

    summary = capture_baseline(
        engine, jira_client, mapping, "ACME", name="Re-plan", now=NOW, by="pat"
    )

    assert summary.unflagged == 1
    with reader(engine) as conn:
        left = {c["key"]: c for c in list_changes(conn, "ACME")}
        d = scope_decisions.c
        audited = conn.execute(
            select(d.issue_key, d.to_decision, d.channel, d.decided_by, d.note).where(
                d.to_decision == "not-scope"
            )
        ).all()
    assert (left[pending]["decision"], left[approved]["decision"]) == ("not-scope", "approved")
    assert [tuple(a) for a in audited] == [
        (pending, "not-scope", "cli", "pat", "taken into baseline Re-plan")
    ]
    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 1
    assert ticket(site, pending) == ([], None, None, None)
    assert "scope-approved" in ticket(site, approved)[0]  # a decided change keeps its flag
