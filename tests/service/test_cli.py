"""The `scopewatch` command line: clear one-line errors, inbox stats and bulk import."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.support import ROOT, fixture_body


@pytest.fixture
def run(monkeypatch, sqlite_url):
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", str(ROOT / "mappings" / "sandbox.toml"))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_a_bad_setting_is_one_line_naming_the_variable(run, monkeypatch):
    monkeypatch.setenv("SCOPEWATCH_MAX_BODY", "lots")
    result = run("inbox", "stats")
    assert result.exit_code == 2
    assert result.output.strip().startswith("scopewatch: SCOPEWATCH_MAX_BODY='lots'")
    assert "Traceback" not in result.output


def test_every_bad_setting_gets_its_own_line(run, monkeypatch):
    monkeypatch.setenv("SCOPEWATCH_MAX_BODY", "lots")
    monkeypatch.setenv("SCOPEWATCH_PUBLIC_URL", "ftp://x")
    result = run("inbox", "stats")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "scopewatch: SCOPEWATCH_PUBLIC_URL='ftp://x': must be an http(s) URL",
        "scopewatch: SCOPEWATCH_MAX_BODY='lots': must be a positive whole number",
    ]


def test_a_bad_mapping_file_names_the_file_line_and_key(run, tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    text = (ROOT / "mappings" / "sandbox.toml").read_text()
    bad.write_text(text.replace("budget = 120000", 'budget = "lots"', 1))
    line = next(n for n, s in enumerate(bad.read_text().splitlines(), 1) if '"lots"' in s)
    result = run("mappings", "check", "--file", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:{line}: projects[0].budget" in result.output


def test_mappings_check_passes_the_shipped_file(run):
    result = run("mappings", "check")
    assert result.exit_code == 0, result.output
    assert "OK (2 projects: ACME, BETA)" in result.output


def test_an_unmigrated_database_is_refused_with_the_fix(run, monkeypatch, tmp_path):
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = run("inbox", "stats")
    assert result.exit_code == 2
    assert "scopewatch db upgrade" in result.output
    assert run("db", "upgrade").exit_code == 0
    assert run("inbox", "stats").exit_code == 0


def test_inbox_import_applies_intake_checks_and_dedupe(run, tmp_path):
    created = json.dumps(fixture_body("cloud_issue_created"))
    lines = [
        created,
        created,
        json.dumps(fixture_body("cloud_worklog_created")),
        '{"no": "event"}',
        "",
        json.dumps(fixture_body("cloud_sprint_started")),
    ]
    path = tmp_path / "backfill.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = run("inbox", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}: 1 lines rejected (first: line 4: body has no webhookEvent" in result.output
    stats = json.loads(run("inbox", "stats", "--json").stdout)
    assert (stats["pending"], stats["duplicates"]) == (3, 1)
    worker = run("worker", "--once")
    assert worker.exit_code == 0
    assert "processed 3 events, 0 failed" in worker.output


def test_every_command_of_the_contract_exists():
    product = ROOT.parent / "shared" / "PRODUCT.md"
    expected = [
        "run",
        "serve",
        "worker",
        "db upgrade",
        "sandbox",
        "baseline capture",
        "baseline list",
        "mappings check",
        "reconcile",
        "inbox stats",
        "inbox import",
        "digest build",
        "digest send",
        "export scope-changes",
        "demo",
    ]
    if product.exists():
        assert all(f"`{name.split()[0]}" in product.read_text() for name in expected)
    runner = CliRunner()
    for name in expected:
        result = runner.invoke(main, [*name.split(), "--help"])
        assert result.exit_code == 0, name
    readme = (ROOT / "README.md").read_text()
    assert all(f"scopewatch {name.split()[0]}" in readme for name in expected)
