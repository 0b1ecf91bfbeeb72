"""The outbox as a generic queue: kinds are the caller's, and it writes no table but its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select

from mappings import load_mapping
from service.jira.client import JiraClient
from service.outbox import queue as outbox
from service.store import schema
from service.store.engine import make_engine
from service.store.migrate import upgrade
from tests.support import ROOT, go_live

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
# Never contacted: these kinds do not call Jira. The client only sizes the lease.
CLIENT = JiraClient(
    "http://127.0.0.1:9", None, "unused", load_mapping(ROOT / "mappings" / "sandbox.toml")
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    upgrade(engine)
    go_live(engine, "ACME")
    return engine


def enqueue(engine: Engine, key: str, kind: str = "note") -> None:
    with engine.begin() as conn:
        outbox.enqueue(
            conn, dedupe_key=key, kind=kind, project_key="ACME", issue_id="1", payload={}, now=NOW
        )


def jobs(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.outbox)).mappings()
        return {r["dedupe_key"]: (r["status"], r["last_error"]) for r in rows}


def test_a_kind_runs_and_its_done_hook_commits_with_the_done_mark(engine: Engine) -> None:
    seen: list[tuple[str, bool]] = []

    def on_done(conn: Connection, job: outbox.Job) -> None:
        # Inside the transaction that marks the job done: it is not committed yet.
        seen.append((job.dedupe_key, conn.in_transaction()))

    kind = outbox.JobKind(
        execute=lambda client, job: outbox.Executed(written=True), on_done=on_done, calls=1
    )
    enqueue(engine, "note:1")
    assert outbox.run_due(engine, CLIENT, {"note": kind}, now=NOW) == 1
    assert seen == [("note:1", True)]
    assert jobs(engine) == {"note:1": ("done", None)}


def test_a_done_hook_is_not_run_for_a_job_that_wrote_nothing(engine: Engine) -> None:
    seen: list[str] = []
    kind = outbox.JobKind(
        execute=lambda client, job: outbox.Executed(written=False, note="issue gone"),
        on_done=lambda conn, job: seen.append(job.dedupe_key),
        calls=1,
    )
    enqueue(engine, "note:1")
    assert outbox.run_due(engine, CLIENT, {"note": kind}, now=NOW) == 1
    assert seen == []
    assert jobs(engine) == {"note:1": ("done", "issue gone")}


def test_a_job_of_an_unknown_kind_fails_with_a_reason_and_the_rest_go_on(engine: Engine) -> None:
    kind = outbox.JobKind(
        execute=lambda client, job: outbox.Executed(written=True),
        on_done=lambda conn, job: None,
        calls=1,
    )
    enqueue(engine, "mystery:1", kind="mystery")
    enqueue(engine, "note:1")
    outbox.run_due(engine, CLIENT, {"note": kind}, now=NOW)
    assert jobs(engine) == {
        "mystery:1": ("failed", "unknown job kind 'mystery'"),
        "note:1": ("done", None),
    }


def test_cancel_drops_only_unstarted_jobs_of_that_kind_and_key(engine: Engine) -> None:
    for key in ("note:7:1", "note:7:2", "note:70:1"):
        enqueue(engine, key)
    enqueue(engine, "other:7:1", kind="other")
    with engine.begin() as conn:  # a worker is half-way through note:7:2
        conn.execute(
            schema.outbox.update()
            .where(schema.outbox.c.dedupe_key == "note:7:2")
            .values(lease_until=NOW + timedelta(minutes=5))
        )
        outbox.cancel_pending(conn, kind="note", key_prefix="note:7:", reason="superseded", now=NOW)
    assert jobs(engine) == {
        "note:7:1": ("done", "superseded"),
        "note:7:2": ("pending", None),
        "note:70:1": ("pending", None),
        "other:7:1": ("pending", None),
    }


def test_a_project_in_observe_mode_keeps_its_jobs_queued_until_it_goes_live(
    engine: Engine,
) -> None:
    ran: list[str] = []
    kind = outbox.JobKind(
        execute=lambda client, job: ran.append(job.dedupe_key) or outbox.Executed(written=True),
        on_done=lambda conn, job: None,
        calls=1,
    )
    with engine.begin() as conn:
        outbox.enqueue(
            conn,
            dedupe_key="note:B",
            kind="note",
            project_key="BETA",
            issue_id="2",
            payload={},
            now=NOW,
        )

    assert outbox.run_due(engine, CLIENT, {"note": kind}, now=NOW + timedelta(days=3)) == 0
    assert ran == [] and jobs(engine) == {"note:B": ("pending", None)}

    go_live(engine, "BETA")
    assert outbox.run_due(engine, CLIENT, {"note": kind}, now=NOW + timedelta(days=3)) == 1
    assert outbox.run_due(engine, CLIENT, {"note": kind}, now=NOW + timedelta(days=4)) == 0
    assert ran == ["note:B"] and jobs(engine)["note:B"][0] == "done"
