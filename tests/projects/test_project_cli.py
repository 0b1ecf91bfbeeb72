"""`scopewatch project status|go-live|pause`: what a PM reads before letting scopewatch write."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result

from mappings import load_mapping
from service.cli import main
from service.outbox import queue as outbox
from service.scope.baseline import Baseline
from service.scope.model import ScopeChange
from service.scope.writeback import WRITEBACK, payload_for
from service.store.engine import make_engine
from tests.support import NOW, ROOT

MAPPINGS = str(ROOT / "mappings" / "sandbox.toml")
MAPPING = load_mapping(MAPPINGS)


def change(key: str) -> ScopeChange:
    return ScopeChange(
        id=7,
        project_key="ACME",
        issue_id="10027",
        key=key,
        summary="Export as PDF",
        issue_type="Story",
        created=None,
        detected_at=NOW,
        hours=16.0,
        hours_source="estimate",
        cost=1520.0,
        currency="EUR",
        schedule_days=0.7,
        decision="pending",
        decision_note=None,
        decided_at=None,
        withdrawn=False,
        impact_version=1,
        written_version=0,
    )


@pytest.fixture
def run(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", MAPPINGS)
    engine = make_engine(sqlite_url)
    baseline = Baseline(at=datetime(2026, 9, 1, 9, tzinfo=UTC))
    payload = payload_for(MAPPING.jira, MAPPING.projects[0], baseline, change("ACME-27"))
    with engine.begin() as conn:
        outbox.enqueue(
            conn,
            dedupe_key=f"{WRITEBACK}:7:1",
            kind=WRITEBACK,
            project_key="ACME",
            issue_id="10027",
            payload=payload.to_json(),
            now=NOW,
        )
    engine.dispose()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args))

    return invoke


def test_status_shows_observe_mode_and_every_write_waiting(run) -> None:  # type: ignore[no-untyped-def]
    shown = run("project", "status", "ACME")

    assert shown.exit_code == 0, shown.output
    assert "ACME (Acme Corp): OBSERVE" in shown.output
    assert "nothing is written to Jira, the client gets no digest" in shown.output
    assert "NOT caught up: the mirror has not caught up with Jira yet" in shown.output
    assert "writes waiting for Jira: 1" in shown.output
    assert "ACME-27: labels +scope-change" in shown.output
    assert "| Outside the baseline of 1 Sept 2026: +16 h, €1,520" in shown.output


def test_go_live_and_pause_are_audited_with_who_and_when(run) -> None:  # type: ignore[no-untyped-def]
    live = run("project", "go-live", "ACME")
    again = run("project", "go-live", "ACME")
    paused = run("project", "pause", "ACME", "--by", "Dana (PM)")
    status = json.loads(run("project", "status", "ACME", "--json").output)

    assert live.exit_code == 0 and "ACME is live" in live.output
    assert "already live" in again.output
    assert paused.exit_code == 0 and "paused (by Dana (PM))" in paused.output
    assert status["mode"] == "observe"
    assert [(c["mode"], c["by"]) for c in status["mode_changes"]] == [
        ("live", getpass.getuser()),
        ("observe", "Dana (PM)"),
    ]
    assert [w["issue"] for w in status["writes_waiting"]] == ["ACME-27"]


def test_an_unknown_project_is_one_line_and_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    result = run("project", "go-live", "NOPE")

    assert result.exit_code == 2
    assert result.output.strip().endswith("no project 'NOPE' (known: ACME, BETA)")
    assert "Traceback" not in result.output
