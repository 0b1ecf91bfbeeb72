"""The Jira-facing commands, run as a user would, against the sandbox over HTTP."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.jira.jira_site import JiraSite

ROOT_MAPPING = "mappings/sandbox.toml"


@pytest.fixture
def run(monkeypatch, site: JiraSite, tmp_path):
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SCOPEWATCH_JIRA_URL", site.url)
    monkeypatch.setenv("SCOPEWATCH_JIRA_EMAIL", "sandbox@example.com")
    monkeypatch.setenv("SCOPEWATCH_JIRA_TOKEN", "sandbox-token")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_mappings_check_names_custom_fields_jira_does_not_have(run, tmp_path):
    from tests.support import ROOT

    ok = run("mappings", "check", "--file", str(ROOT / ROOT_MAPPING))
    assert ok.exit_code == 0, ok.output
    assert "custom fields: all found in Jira" in ok.output
    wrong = tmp_path / "wrong.toml"
    text = (ROOT / ROOT_MAPPING).read_text().replace("customfield_10151", "customfield_99999")
    wrong.write_text(text)
    bad = run("mappings", "check", "--file", str(wrong))
    assert bad.exit_code == 2
    assert "custom fields not in Jira: customfield_99999" in bad.output


def test_baseline_capture_then_list_then_reconcile(run):
    assert run("db", "upgrade").exit_code == 0
    captured = run("baseline", "capture", "--project", "ACME", "--name", "Kick-off")
    assert captured.exit_code == 0, captured.output
    assert "version: 1" in captured.stdout
    listed = run("baseline", "list", "--project", "ACME")
    assert "v1  Kick-off" in listed.stdout
    swept = run("reconcile", "--project", "ACME")
    assert swept.exit_code == 0, swept.output
    assert "applied" in swept.stdout


def test_jira_commands_without_jira_configured_say_what_to_set(run, monkeypatch):
    monkeypatch.delenv("SCOPEWATCH_JIRA_URL")
    assert run("db", "upgrade").exit_code == 0
    result = run("reconcile", "--project", "ACME")
    assert result.exit_code == 2
    assert "set SCOPEWATCH_JIRA_URL and SCOPEWATCH_JIRA_TOKEN" in result.output
    unknown = run("reconcile", "--project", "NOPE")
    assert "no project 'NOPE' (known: ACME, BETA)" in unknown.output
