"""Capturing a baseline from the sandbox: every issue, in as few pages as Jira allows."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from mappings.model import Mapping
from service.jira.client import JiraClient
from service.scope.capture import capture_baseline, list_baselines
from service.store.engine import reader
from service.store.schema import baseline_items
from tests.jira.jira_site import JiraSite

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_capture_pages_through_five_thousand_issues(
    sqlite_engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    site.bulk("ACME", 5000)
    total = jira_client.count('project = "ACME"')
    site.clear_log()
    calls_before = jira_client.calls
    seen: list[tuple[int, int | None]] = []

    summary = capture_baseline(
        sqlite_engine,
        jira_client,
        mapping,
        "ACME",
        name="Agreed scope",
        now=NOW,
        progress=lambda done, of: seen.append((done, of)),
    )

    assert total > 5000
    assert (summary.version, summary.name, summary.issues) == (1, "Agreed scope", total)
    pages = math.ceil(total / 100)  # Cloud answers at most 100 issues a page when fields are asked
    searches = [r for r in site.log() if r["path"].endswith("/search/jql")]
    assert len(searches) == pages
    # One count, for the progress bar, and the field list the jira library reads before its
    # first search (it translates JQL names with it); `calls` counts what the sandbox saw.
    assert jira_client.calls - calls_before == pages + 2 == len(site.log())
    assert seen[-1] == (total, total) and len(seen) == pages
    with reader(sqlite_engine) as conn:
        assert conn.execute(select(func.count()).select_from(baseline_items)).scalar() == total


def test_each_capture_is_a_new_version(
    sqlite_engine: Engine, jira_client: JiraClient, mapping: Mapping
) -> None:
    first = capture_baseline(sqlite_engine, jira_client, mapping, "BETA", now=NOW)
    second = capture_baseline(sqlite_engine, jira_client, mapping, "BETA", name="Re-plan", now=NOW)

    with reader(sqlite_engine) as conn:
        listed = list_baselines(conn, "BETA")
        assert list_baselines(conn, "ACME") == []
    assert (first.version, second.version) == (1, 2)
    assert first.name == "Baseline v1 (16 Nov 2026)"
    assert [(b["version"], b["name"], b["issues"]) for b in listed] == [
        (2, "Re-plan", second.issues),
        (1, first.name, first.issues),
    ]
    assert listed[0]["captured_at"] == NOW


def test_hours_follow_the_mapping_rules(
    sqlite_engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    before = capture_baseline(sqlite_engine, jira_client, mapping, "BETA", now=NOW)
    site.create_issue("BETA", "Estimated", "Task", timetracking={"originalEstimate": "2h"})
    site.create_issue("BETA", "Pointed", "Story", customfield_10016=3)  # 5 h a point in BETA
    site.create_issue("BETA", "By type", "Task")  # [estimates] Task = 4
    site.create_issue("BETA", "Unpriced", "Bug")  # no rule prices a Bug

    after = capture_baseline(sqlite_engine, jira_client, mapping, "BETA", now=NOW)

    assert after.issues - before.issues == 4
    assert round(after.hours - before.hours, 1) == 2 + 15 + 4
    assert after.unestimated - before.unestimated == 1
