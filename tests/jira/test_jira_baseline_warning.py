"""`mappings check` warns before a `baseline =` date flags months of existing work on day one."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.jira.jira_site import JiraSite
from tests.support import ROOT

MAPPING = ROOT / "mappings" / "sandbox.toml"


@pytest.fixture
def check(monkeypatch, site: JiraSite, tmp_path):
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SCOPEWATCH_JIRA_URL", site.url)
    monkeypatch.setenv("SCOPEWATCH_JIRA_EMAIL", "sandbox@example.com")
    monkeypatch.setenv("SCOPEWATCH_JIRA_TOKEN", "sandbox-token")

    def invoke():
        return CliRunner().invoke(main, ["mappings", "check", "--file", str(MAPPING)])

    return invoke


def test_a_baseline_date_that_would_flag_many_existing_issues_is_a_warning(
    check, site, jira_client
):
    # What the seed already has after the date (the sandbox reads JQL dates in UTC).
    seeded = jira_client.count(
        'project = "ACME" AND created > "2026/09/01 09:00" AND issuetype not in ("Bug")'
    )
    quiet = check()
    assert quiet.exit_code == 0 and "would flag" not in quiet.output
    for n in range(6):
        site.create_issue("ACME", f"Kickoff task {n}", "Task")
    site.create_issue("ACME", "A bug", "Bug")  # an excluded type is never flagged

    loud = check()

    assert loud.exit_code == 0, loud.output  # a warning, not a failure
    (line,) = [line for line in loud.output.splitlines() if "would flag" in line]
    assert line.startswith(f"warning: {MAPPING}: projects[0] (ACME): baseline = 2026-09-01T09:")
    assert "`scopewatch baseline capture --project ACME`, which takes precedence" in line
    assert f"would flag {seeded + 6} existing issues created after it" in line
    assert "OK (2 projects: ACME, BETA)" in loud.output
