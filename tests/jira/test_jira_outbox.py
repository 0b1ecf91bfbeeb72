"""The outbox against the sandbox: each write-back lands in Jira once, whatever fails on the way."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from mappings import load_mapping
from mappings.model import Mapping
from service.jira.client import JiraClient
from service.outbox import queue as outbox
from service.scope.baseline import Baseline
from service.scope.model import ScopeChange
from service.scope.writeback import KINDS, WritebackPayload, payload_for
from service.store.schema import outbox as outbox_table
from service.store.schema import scope_changes
from tests.jira.jira_site import JiraSite, make_client
from tests.support import ROOT, go_live

PROPERTY = "scopewatch.impact"
MARKER = "[scopewatch change 12]"
MAPPING = load_mapping(ROOT / "mappings" / "sandbox.toml")
JIRA_FIELDS = MAPPING.jira
BASELINE = Baseline(at=datetime(2026, 9, 1, 9, tzinfo=UTC))


def _change(key: str, change_id: int = 12) -> ScopeChange:
    return ScopeChange(
        id=change_id,
        project_key="ACME",
        issue_id="",
        key=key,
        summary="",
        issue_type="Story",
        created=None,
        detected_at=BASELINE.at or datetime(2026, 9, 1, tzinfo=UTC),
        hours=6.0,
        hours_source="estimate",
        cost=510.0,
        currency="EUR",
        schedule_days=0.3,
        decision="pending",
        decision_note=None,
        decided_at=None,
        withdrawn=False,
        impact_version=1,
        written_version=0,
    )


def _payload(key: str, change_id: int = 12) -> WritebackPayload:
    """What the scope engine enqueues for a pending change of 6 h, made by the engine's own code."""
    return payload_for(JIRA_FIELDS, MAPPING.projects[0], BASELINE, _change(key, change_id))


def _property(change_id: int = 12) -> dict[str, Any]:
    """The issue property Jira holds once the job is done."""
    payload = _payload("ACME-1", change_id)
    assert payload.property is not None
    return {**asdict(payload.property), "job": f"writeback:{change_id}:1"}


def _enqueue(
    engine: Engine, site: JiraSite, key: str, now: datetime, dedupe_key: str = "writeback:12:1"
) -> bool:
    with engine.begin() as conn:
        return outbox.enqueue(
            conn,
            dedupe_key=dedupe_key,
            kind="writeback",
            project_key=key.split("-")[0],
            issue_id=str(site.issue(key)["id"]),
            payload=_payload(key).to_json(),
            now=now,
        )


def _jobs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox_table)).mappings()]


def _marked(site: JiraSite, key: str) -> list[str]:
    return [c for c in site.comments(key) if MARKER in c]


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(autouse=True)
def _live(engine: Engine) -> None:
    """A live project's writes; observe mode is tested in tests/outbox and first contact."""
    go_live(engine, "ACME")


def test_a_write_back_lands_once(
    engine: Engine, site: JiraSite, jira_client: JiraClient, now: datetime
) -> None:
    _enqueue(engine, site, "ACME-9", now)

    assert outbox.run_due(engine, jira_client, KINDS, now=now) == 1

    fields = site.issue("ACME-9")["fields"]
    assert "scope-change" in fields["labels"]
    assert (fields["customfield_10150"], fields["customfield_10151"]) == (6.0, 510.0)
    assert len(_marked(site, "ACME-9")) == 1
    assert site.prop("ACME-9", PROPERTY) == _property()
    (job,) = _jobs(engine)
    assert (job["status"], job["done_at"], job["lease_until"]) == ("done", now, None)

    site.clear_log()
    again = _enqueue(engine, site, "ACME-9", now)
    assert again is False  # the same dedupe key enqueues nothing
    site.clear_log()
    assert outbox.run_due(engine, jira_client, KINDS, now=now + timedelta(hours=1)) == 0
    assert site.log() == []
    with engine.connect() as conn:
        assert outbox.outbox_counts(conn) == {"pending": 0, "done": 1, "failed": 0}


def test_a_lost_answer_to_the_comment_post_still_leaves_one_comment(
    engine: Engine, site: JiraSite, jira_client: JiraClient, now: datetime
) -> None:
    _enqueue(engine, site, "ACME-10", now)
    # Slow every call down, and arm the fault only once the comments have been listed: the fault
    # matches by path, and the list (GET) and the post (POST) share one.
    site.fault(latency_ms=400)
    done: list[int] = []
    worker = threading.Thread(
        target=lambda: done.append(outbox.run_due(engine, jira_client, KINDS, now=now))
    )
    worker.start()
    _wait_for(lambda: any(r["path"].endswith("/comment") for r in site.log()))
    site.fault(mode="drop", count=1, paths="/comment")
    worker.join(timeout=30)

    assert done == [0]
    (job,) = _jobs(engine)
    assert (job["status"], job["attempts"]) == ("pending", 1)
    assert [r["dropped"] for r in site.log() if r["method"] == "POST"] == [True]
    assert len(_marked(site, "ACME-10")) == 1  # Jira did post it before the answer was lost

    site.fault(latency_ms=0)
    assert outbox.run_due(engine, jira_client, KINDS, now=job["next_attempt_at"]) == 1

    assert len(_marked(site, "ACME-10")) == 1
    assert site.prop("ACME-10", PROPERTY)["job"] == "writeback:12:1"


def test_a_job_jira_already_shows_is_marked_done_without_writing(
    engine: Engine, site: JiraSite, jira_client: JiraClient, now: datetime
) -> None:
    # As if a worker was killed after its last Jira call and before its commit.
    jira_client.set_property("ACME-11", PROPERTY, _property())
    _enqueue(engine, site, "ACME-11", now)
    site.clear_log()

    assert outbox.run_due(engine, jira_client, KINDS, now=now) == 1

    assert [(r["method"], r["path"]) for r in site.log()] == [
        ("GET", f"/rest/api/2/issue/{site.issue('ACME-11')['id']}/properties/{PROPERTY}")
    ]
    assert _jobs(engine)[0]["status"] == "done"


def test_without_jira_jobs_wait(engine: Engine, site: JiraSite, now: datetime) -> None:
    _enqueue(engine, site, "ACME-12", now)

    assert outbox.run_due(engine, None, KINDS, now=now + timedelta(days=30)) == 0

    (job,) = _jobs(engine)
    assert (job["status"], job["attempts"], job["last_error"]) == ("pending", 0, None)


def test_a_rate_limit_pauses_the_whole_outbox(
    engine: Engine, site: JiraSite, mapping: Mapping, now: datetime
) -> None:
    client = make_client(site, mapping, max_wait=1.0)
    _enqueue(engine, site, "ACME-13", now, dedupe_key="writeback:13:1")
    _enqueue(engine, site, "ACME-14", now, dedupe_key="writeback:14:1")
    site.fault(mode="429", count=1, retry_after=60)

    assert outbox.run_due(engine, client, KINDS, now=now) == 0

    with engine.connect() as conn:
        pause = outbox.paused_until(conn)
    assert pause is not None and pause >= now + timedelta(seconds=55)
    first = next(j for j in _jobs(engine) if j["dedupe_key"] == "writeback:13:1")
    assert first["attempts"] == 1 and first["next_attempt_at"] >= now + timedelta(seconds=55)
    site.clear_log()
    # Another worker, with its own client, respects the pause too.
    other = make_client(site, mapping)
    assert outbox.run_due(engine, other, KINDS, now=now + timedelta(seconds=30)) == 0
    assert site.log() == []

    assert outbox.run_due(engine, other, KINDS, now=now + timedelta(minutes=5)) == 2


def test_a_deleted_issue_finishes_the_job_with_a_note(
    engine: Engine, site: JiraSite, jira_client: JiraClient, now: datetime
) -> None:
    _enqueue(engine, site, "ACME-15", now)
    site.http.delete(f"{site.url}/rest/api/2/issue/ACME-15").raise_for_status()

    assert outbox.run_due(engine, jira_client, KINDS, now=now) == 1

    (job,) = _jobs(engine)
    assert job["status"] == "done"
    assert "no longer exists" in job["last_error"]


def test_a_refused_edit_fails_after_a_few_attempts_with_jiras_reason(
    engine: Engine, site: JiraSite, jira_client: JiraClient, now: datetime
) -> None:
    payload = replace(_payload("ACME-16"), fields={"customfield_99999": 1}).to_json()
    with engine.begin() as conn:
        outbox.enqueue(
            conn,
            dedupe_key="writeback:16:1",
            kind="writeback",
            project_key="ACME",
            issue_id="ACME-16",
            payload=payload,
            now=now,
        )

    moment = now
    for _ in range(outbox.MAX_REJECTIONS):
        outbox.run_due(engine, jira_client, KINDS, now=moment)
        moment = _jobs(engine)[0]["next_attempt_at"]

    (job,) = _jobs(engine)
    assert (job["status"], job["attempts"]) == ("failed", outbox.MAX_REJECTIONS)
    assert "customfield_99999" in job["last_error"]
    assert _marked(site, "ACME-16") == []  # nothing half-written: the edit came first


def test_a_finished_write_back_marks_its_change_written(
    engine: Engine, site: JiraSite, jira_client: JiraClient, now: datetime
) -> None:
    issue_id = str(site.issue("ACME-17")["id"])
    with engine.begin() as conn:
        conn.execute(
            insert(scope_changes).values(
                id=12,
                project_key="ACME",
                issue_id=issue_id,
                key="ACME-17",
                detected_at=now,
                hours_source="estimate",
                currency="EUR",
            )
        )
    _enqueue(engine, site, "ACME-17", now)

    outbox.run_due(engine, jira_client, KINDS, now=now)

    with engine.connect() as conn:
        written = conn.execute(select(scope_changes.c.written_version)).scalar_one()
    assert written == 1


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)


def test_two_workers_share_the_outbox_and_each_effect_lands_once(
    engine: Engine, site: JiraSite, mapping: Mapping, now: datetime
) -> None:
    keys = [f"ACME-{n}" for n in range(3, 23)]
    for n, key in enumerate(keys):
        with engine.begin() as conn:
            outbox.enqueue(
                conn,
                dedupe_key=f"writeback:{n}:1",
                kind="writeback",
                project_key="ACME",
                issue_id=str(site.issue(key)["id"]),
                payload=_payload(key, change_id=n).to_json(),
                now=now,
            )
    site.clear_log()
    site.fault(latency_ms=20)  # long enough that the two really overlap
    done: list[int] = []

    def work() -> None:
        done.append(outbox.run_due(engine, make_client(site, mapping), KINDS, now=now, limit=100))

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert sum(done) == len(keys) and min(done) > 0  # both took part, nothing twice
    posts = [e for e in site.log() if e["method"] == "POST" and e["path"].endswith("/comment")]
    assert len(posts) == len(keys)
    assert all(len([c for c in site.comments(k) if "scopewatch change" in c]) == 1 for k in keys)


def test_each_finished_job_is_logged_with_its_issue_key(
    engine: Engine, site: JiraSite, jira_client: JiraClient, now: datetime, caplog
) -> None:
    caplog.set_level("INFO", logger="service.outbox.queue")
    _enqueue(engine, site, "ACME-9", now)
    outbox.run_due(engine, jira_client, KINDS, now=now)
    [done] = [r for r in caplog.records if r.getMessage().endswith("done")]
    assert (done.issue_key, done.job, done.project) == ("ACME-9", "writeback:12:1", "ACME")
