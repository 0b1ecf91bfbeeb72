"""Reconcile against the sandbox: what Jira changed while no webhook reached us ends up mirrored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from mappings.model import Mapping
from service.jira.client import JiraClient
from service.mirror.reconcile import last_sweep, reconcile, sweep_jql
from service.store.engine import reader
from service.store.schema import issues, outbox, scope_changes
from tests.jira.jira_site import JiraSite


def test_the_first_sweep_fills_the_mirror_with_the_whole_project(
    sqlite_engine: Engine, jira_client: JiraClient, mapping: Mapping
) -> None:
    now = datetime.now(UTC)

    summary = reconcile(sqlite_engine, jira_client, mapping, "ACME", since=None, now=now)

    total = jira_client.count('project = "ACME"')
    assert (summary.since, summary.seen, summary.applied) == (None, total, total)
    with reader(sqlite_engine) as conn:
        mirrored = conn.execute(
            select(func.count()).select_from(issues).where(issues.c.project_key == "ACME")
        ).scalar()
        assert mirrored == total
        assert last_sweep(conn, "ACME") == now


def test_an_issue_created_while_we_were_away_is_found_and_flagged(
    sqlite_engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    first = datetime.now(UTC)
    reconcile(sqlite_engine, jira_client, mapping, "ACME", since=None, now=first)
    key = site.create_issue(
        "ACME", "Export to CSV", "Story", timetracking={"originalEstimate": "6h"}
    )

    summary = reconcile(
        sqlite_engine, jira_client, mapping, "ACME", since=None, now=datetime.now(UTC)
    )

    assert summary.since == first  # from the last sweep, not from the start of time
    assert (summary.seen, summary.applied) == (1, 1)
    with reader(sqlite_engine) as conn:
        row = conn.execute(select(issues).where(issues.c.key == key)).mappings().one()
        change = conn.execute(select(scope_changes).where(scope_changes.c.key == key)).mappings()
        jobs = conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.issue_id == row["id"])
        ).scalar()
    assert (row["summary"], row["original_estimate_seconds"]) == ("Export to CSV", 6 * 3600)
    assert change.one()["hours"] == 6.0  # created after the baseline: new scope, priced
    assert jobs == 1  # and its write-back is queued


def test_a_sweep_asks_for_recent_changes_in_any_time_zone() -> None:
    now = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)

    jql = sweep_jql("ACME", now - timedelta(hours=1), now)

    assert jql == 'project = "ACME" AND updated >= "-65m" ORDER BY updated ASC'


def test_a_swept_issue_knows_since_when_it_has_been_waiting_from_its_history(
    sqlite_engine: Engine, jira_client: JiraClient, mapping: Mapping
) -> None:
    reconcile(sqlite_engine, jira_client, mapping, "ACME", since=None, now=datetime.now(UTC))

    with reader(sqlite_engine) as conn:
        row = conn.execute(select(issues).where(issues.c.key == "ACME-12")).mappings().one()
    # The seed moved ACME-12 to "Waiting for client" on 11 Nov; it was created in August.
    assert row["status"] == "Waiting for client"
    assert row["status_since"] == datetime(2026, 11, 11, 10, 22, tzinfo=UTC)
