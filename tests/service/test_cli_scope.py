"""`scopewatch scope decide`: a decision from the command line, audited with who ran it."""

from __future__ import annotations

import csv
import getpass
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from mappings import load_mapping
from service.cli import main
from service.scope.engine import evaluate_issue
from service.store import schema
from service.store.engine import make_engine
from tests.scope.scope_support import issue_row
from tests.support import NOW, ROOT


@pytest.fixture
def run(monkeypatch, sqlite_url):
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", str(ROOT / "mappings" / "sandbox.toml"))
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(insert(schema.issues).values(issue_row("10031")))
        evaluate_issue(conn, load_mapping(ROOT / "mappings" / "sandbox.toml"), "10031", NOW)
    engine.dispose()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    invoke.url = sqlite_url  # type: ignore[attr-defined]
    return invoke


def audit(url: str) -> list[tuple[str, str, str, str | None, str | None]]:
    engine = make_engine(url)
    d = schema.scope_decisions.c
    with engine.connect() as conn:
        found = conn.execute(
            select(d.from_decision, d.to_decision, d.channel, d.decided_by, d.note).order_by(d.id)
        ).all()
    engine.dispose()
    return [tuple(row) for row in found]  # type: ignore[misc]


def test_scope_decide_records_who_ran_it(run):
    result = run("scope", "decide", "acme-31", "not-scope", "--note", "kickoff work")
    assert result.exit_code == 0, result.output
    me = getpass.getuser()
    assert result.output.strip() == f"ACME-31: not-scope (by {me}; queued for Jira)"
    assert run("scope", "decide", "ACME-31", "pending").exit_code == 0
    assert audit(run.url) == [
        ("pending", "not-scope", "cli", me, "kickoff work"),
        ("not-scope", "pending", "cli", me, None),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ACME-99", "approved"], "scopewatch: no scope change ACME-99 in project ACME"),
        (["ZETA-1", "approved"], "no project 'ZETA' (known: ACME, BETA)"),
        (["31", "approved"], "scopewatch: '31' is not an issue key like ACME-12"),
    ],
)
def test_scope_decide_says_what_is_wrong_in_one_line(run, args, message):
    result = run("scope", "decide", *args)
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1 and message in result.output


def test_scope_decide_refuses_an_unknown_decision(run):
    result = run("scope", "decide", "ACME-31", "maybe")
    assert result.exit_code == 2 and "'maybe' is not one of" in result.output


def test_export_shows_the_decision_and_links_to_jira(run, monkeypatch, tmp_path):
    monkeypatch.setenv("SCOPEWATCH_JIRA_URL", "https://acme.atlassian.net")
    monkeypatch.setenv("SCOPEWATCH_JIRA_TOKEN", "unused-no-call-is-made")
    assert run("scope", "decide", "ACME-31", "rejected", "--note", "not this year").exit_code == 0
    out = tmp_path / "changes.csv"

    result = run("export", "scope-changes", "--project", "ACME", "--out", str(out))

    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    assert (row["Issue"], row["Decision"], row["Decision note"]) == (
        "ACME-31", "Rejected", "not this year",
    )  # fmt: skip
    assert (row["Decided by"], row["Decided through"]) == (getpass.getuser(), "Command line")
    assert row["Link"] == "https://acme.atlassian.net/browse/ACME-31"
    # 09:30 UTC in the digest's zone (Europe/Berlin), as a spreadsheet reads a date
    assert row["Created in Jira"] == "2026-11-16 10:30"
