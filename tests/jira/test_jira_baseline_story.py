"""The baseline `baseline capture` prints is the baseline the digest shows: same issues, same
rule for excluded types, and epics counted through their stories (sandbox seed, real HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from mappings.model import Mapping
from service.digest.load import digest_for
from service.jira.client import JiraClient
from service.mirror.reconcile import reconcile
from service.scope.capture import capture_baseline
from service.store.engine import reader
from tests.jira.jira_site import JiraSite

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_capture_and_digest_agree_on_the_baseline_hours(
    sqlite_engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    # An excluded type with an estimate: counted by neither side.
    site.create_issue("ACME", "Crash on login", "Bug", timetracking={"originalEstimate": "3h"})
    reconcile(sqlite_engine, jira_client, mapping, "ACME", since=None, now=NOW)

    summary = capture_baseline(sqlite_engine, jira_client, mapping, "ACME", now=NOW)
    with reader(sqlite_engine) as conn:
        digest = digest_for(conn, mapping, "ACME", "2026-W47")

    # Seed ACME, by the hours rule: stories and tasks 486 h, the sub-task ACME-29 4 h = 490 h.
    # Not counted: the epics ACME-1 and ACME-2 (40 h each by default), carried by their stories;
    # ACME-11 (10 h), carried by its estimated sub-task; the Bugs ACME-28 (3 h) and the new one
    # (3 h), an excluded type. Unpriced: the Risk and the Question (no rule gives them hours).
    assert summary.hours == 490.0
    assert summary.unestimated == 2
    assert digest["scope"]["baseline_hours"] == summary.hours
