"""Re-pricing is explicit: after a rate change, pending changes keep their price until
`scope reprice`, which gives each a new impact version and one edit of its Jira comment; approved
changes keep the price the client agreed. On SQLite and PostgreSQL, with the clock frozen."""

from __future__ import annotations

from datetime import UTC, timedelta

from click.testing import CliRunner
from sqlalchemy import insert, select

from service.cli import main
from service.scope.decisions import decide
from service.scope.engine import evaluate_issue
from service.scope.prices import price_history
from service.scope.reprice import reprice_pending
from service.store import schema
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.money.test_money_history import at
from tests.scope.scope_support import issue_row

PRICED = at(2026, 12, 30, 10).astimezone(UTC)  # developer at 90.5 (the card)
AFTER_CHANGE = at(2027, 1, 4, 10).astimezone(UTC)  # developer at 99.99 from 1 January


def flag(engine, mapping, issue_id: str, hours: int) -> None:
    row = issue_row(issue_id, project_key="MONEY", key=f"MONEY-{issue_id}", assignee="bob")
    row.update(created=at(2026, 12, 29, 9), updated=at(2026, 12, 29, 9))
    row["original_estimate_seconds"] = hours * 3600
    with engine.begin() as conn:
        conn.execute(insert(schema.issues).values(row))
        evaluate_issue(conn, mapping, issue_id, PRICED)


def changes(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.scope_changes)).mappings()
        return {r["key"]: dict(r) for r in rows}


def writebacks(engine, change_id: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.outbox)
            .where(schema.outbox.c.dedupe_key.like(f"writeback:{change_id}:%"))
            .order_by(schema.outbox.c.id)
        ).mappings()
        return [dict(r) for r in rows]


def test_reprice_moves_pending_changes_to_todays_rates_and_leaves_approved_ones(engine, tmp_path):
    mapping = money_mapping(tmp_path)
    project = mapping.project("MONEY")
    assert project is not None
    flag(engine, mapping, "21", 10)  # 905.00, stays pending
    flag(engine, mapping, "22", 4)  # 362.00, approved by the client
    with engine.begin() as conn:
        decide(
            conn, mapping, "MONEY", "MONEY-22", "approved", None, PRICED, channel="cli", by="pat"
        )
    before = changes(engine)
    assert (before["MONEY-21"]["cost"], before["MONEY-22"]["cost"]) == (905.0, 362.0)

    # A week later the new rate is in force; an event on the issue does not move its price.
    with engine.begin() as conn:
        evaluate_issue(conn, mapping, "21", AFTER_CHANGE)
    assert changes(engine)["MONEY-21"]["cost"] == 905.0

    with engine.begin() as conn:
        done = reprice_pending(conn, mapping, project, AFTER_CHANGE)
    assert [(d.key, d.old_cost, d.new_cost, d.rate) for d in done] == [
        ("MONEY-21", 905.0, 999.9, "99.99")
    ]
    after = changes(engine)
    assert after["MONEY-21"]["cost"] == 999.9 and after["MONEY-21"]["impact_version"] == 2
    assert after["MONEY-22"] == before["MONEY-22"]  # approved: the agreed price stands

    change_id = after["MONEY-21"]["id"]
    jobs = writebacks(engine, change_id)
    assert [j["dedupe_key"] for j in jobs] == [
        f"writeback:{change_id}:1",
        f"writeback:{change_id}:2",
    ]
    # One comment, edited: the same marker, the new price.
    assert jobs[0]["payload"]["comment"]["marker"] == jobs[1]["payload"]["comment"]["marker"]
    assert "+10 h, €999.90" in jobs[1]["payload"]["comment"]["text"]
    with engine.connect() as conn:
        history = price_history(conn, change_id)
    assert [(h.impact_version, str(h.rate.billing)) for h in history] == [(1, "90.5"), (2, "99.99")]

    # Run again: nothing left to re-price, nothing written.
    with engine.begin() as conn:
        assert reprice_pending(conn, mapping, project, AFTER_CHANGE + timedelta(hours=1)) == []
    assert len(writebacks(engine, change_id)) == 2


def test_the_command_reprices_at_the_rates_of_the_mapping_today(db_url, tmp_path, monkeypatch):
    from service.store.engine import make_engine

    engine = make_engine(db_url)
    flag(engine, money_mapping(tmp_path), "21", 10)  # 905.00 at 90.5
    engine.dispose()
    raised = MAPPING_TOML.replace("billing = 90.5, cost = 55", "billing = 92.25, cost = 55")
    path = tmp_path / "raised.toml"
    path.write_text(raised)
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", str(path))
    result = CliRunner().invoke(main, ["scope", "reprice", "--project", "MONEY"])
    assert result.exit_code == 0, result.output
    # today (the wall clock) is either before 2027 (92.25) or after (99.99): both re-price it
    first = result.output.splitlines()[0]
    assert first.startswith("MONEY-21: 905.00 -> ") and "EUR at" in first
    assert "MONEY: 1 pending changes re-priced" in result.output
