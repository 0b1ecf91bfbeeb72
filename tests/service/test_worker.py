"""The worker: inbox → mirror, idempotent, newest state wins, a bad event never blocks the rest."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, insert, select

from mappings import load_mapping
from service.intake import inbox
from service.mirror.worker import drain_inbox
from service.store import schema
from service.store.clock import frozen_clock
from service.store.engine import reader
from tests import processes
from tests.support import NOW, ROOT, app_settings, fixture_body

MAPPING = load_mapping(ROOT / "mappings" / "sandbox.toml")


def deliver(engine, *bodies, now=None):
    with engine.begin() as conn:
        for body in bodies:
            raw = json.dumps(body).encode()
            inbox.store(
                conn,
                body=raw,
                event=body["webhookEvent"],
                delivery_id=None,
                now=now or NOW,
            )


def issue(engine, issue_id):
    with engine.connect() as conn:
        return (
            conn.execute(select(schema.issues).where(schema.issues.c.id == issue_id))
            .mappings()
            .first()
        )


def rows(engine, table):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def test_an_issue_created_then_moved_in_progress_is_mirrored_with_its_transition(engine):
    deliver(engine, fixture_body("cloud_issue_created"), fixture_body("cloud_issue_updated_status"))
    stats = drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert stats.handled == 2 and stats.failed == 0
    row = issue(engine, "10101")
    assert row["key"] == "ACME-101"
    assert row["status"] == "In Progress"
    assert row["status_category"] == "indeterminate"
    assert row["original_estimate_seconds"] == 36000
    assert row["assignee"] == "5f8a1c2b3d4e5f6a7b8c9d01"
    assert row["components"] == ["Backend"]
    assert row["status_since"].isoformat() == "2026-11-17T09:30:00+00:00"
    [transition] = rows(engine, schema.transitions)
    assert (transition["from_status"], transition["to_status"]) == ("To Do", "In Progress")
    assert all(r["status"] == "done" for r in rows(engine, schema.inbox))


def test_an_older_update_arriving_late_never_overwrites_newer_state(engine):
    deliver(engine, fixture_body("cloud_issue_updated_estimate"))  # 10:30, estimate 15 h
    deliver(engine, fixture_body("cloud_issue_updated_status"))  # 09:30, estimate 10 h
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    row = issue(engine, "10101")
    assert row["original_estimate_seconds"] == 54000
    # ...but the late event's history is still recorded.
    assert [t["to_status"] for t in rows(engine, schema.transitions)] == ["In Progress"]


def test_a_deleted_issue_stays_deleted_when_a_late_update_arrives(engine):
    deliver(engine, fixture_body("cloud_issue_deleted"), fixture_body("cloud_issue_updated_status"))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert issue(engine, "10101")["deleted"] is True


def test_a_worklog_before_its_issue_is_kept_and_joins_it_when_the_issue_arrives(engine):
    deliver(engine, fixture_body("cloud_worklog_created"))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    [worklog] = rows(engine, schema.worklogs)
    assert worklog["issue_id"] == "10101" and worklog["seconds"] == 10800
    deliver(engine, fixture_body("cloud_issue_created"))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    with engine.connect() as conn:
        joined = conn.execute(
            select(schema.issues.c.key, func.sum(schema.worklogs.c.seconds))
            .join(schema.worklogs, schema.worklogs.c.issue_id == schema.issues.c.id)
            .group_by(schema.issues.c.key)
        ).all()
    assert joined == [("ACME-101", 10800)]


def test_worklog_updates_apply_in_order_and_deletion_is_final(engine):
    deliver(engine, fixture_body("cloud_worklog_updated"), fixture_body("cloud_worklog_created"))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert rows(engine, schema.worklogs)[0]["seconds"] == 14400  # the older "created" lost
    deliver(engine, fixture_body("cloud_worklog_deleted"))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert rows(engine, schema.worklogs)[0]["deleted"] is True


def test_data_center_shapes_names_offsets_and_changelog_without_field_id(engine):
    deliver(
        engine, fixture_body("dc_issue_updated_no_field_id"), fixture_body("dc_worklog_updated")
    )
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    row = issue(engine, "20202")
    assert row["assignee"] == "alice"
    assert row["created"].isoformat() == "2026-11-18T10:15:30.123000+00:00"  # +0530 read right
    assert row["story_points"] == 3
    [transition] = rows(engine, schema.transitions)
    assert transition["to_status"] == "Blocked"
    [worklog] = rows(engine, schema.worklogs)
    assert (worklog["id"], worklog["author"], worklog["seconds"]) == ("40001", "alice", 7200)


def test_comments_links_and_ignored_events_are_done(engine):
    deliver(
        engine,
        fixture_body("cloud_comment_created"),
        fixture_body("cloud_issuelink_created"),
        fixture_body("cloud_sprint_started"),
    )
    stats = drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert stats.by_outcome == {"handled": 2, "ignored": 1}
    [link] = rows(engine, schema.links)
    assert (link["source_issue_id"], link["destination_issue_id"], link["link_type"]) == (
        "10005",
        "10101",
        "Blocks",
    )
    assert rows(engine, schema.comments)[0]["body"].startswith("Can the client confirm")


def test_a_broken_event_is_failed_after_three_attempts_and_never_blocks_the_rest(engine):
    broken = {"webhookEvent": "jira:issue_updated", "timestamp": 1, "issue": {"fields": {}}}
    deliver(engine, broken, fixture_body("cloud_issue_created"))
    stats = drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert issue(engine, "10101") is not None
    assert stats.failed == 3
    failed = [r for r in rows(engine, schema.inbox) if r["status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["attempts"] == 3
    assert "issue without id" in failed[0]["last_error"]


def test_replaying_the_whole_inbox_yields_the_same_mirror(engine):
    bodies = [
        fixture_body(n)
        for n in (
            "cloud_issue_created",
            "cloud_issue_updated_status",
            "cloud_worklog_created",
            "cloud_issuelink_created",
        )
    ]
    deliver(engine, *bodies)
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    before = (
        rows(engine, schema.issues),
        rows(engine, schema.worklogs),
        rows(engine, schema.transitions),
    )
    with engine.begin() as conn:
        conn.execute(schema.inbox.update().values(status="pending"))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert (
        rows(engine, schema.issues),
        rows(engine, schema.worklogs),
        rows(engine, schema.transitions),
    ) == before


def _many_events(n: int) -> list[dict]:
    template = fixture_body("cloud_issue_created")
    events = []
    for i in range(n):
        body = copy.deepcopy(template)
        body["timestamp"] += i
        body["issue"]["id"] = str(100000 + i)
        body["issue"]["key"] = f"ACME-{1000 + i}"
        events.append(body)
    return events


def test_kill_9_mid_batch_then_restart_processes_every_row_exactly_once(engine, db_url):
    total = 2000
    deliver(engine, *_many_events(total))
    env = {
        **os.environ,
        "SCOPEWATCH_DATABASE_URL": db_url,
        "SCOPEWATCH_MAPPINGS": app_settings(db_url)["mappings"],
    }
    worker = processes.start(
        [sys.executable, "-m", "service.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        done = _wait_for_progress(engine, deadline=time.monotonic() + 60)
    finally:
        processes.stop(worker, signum=signal.SIGKILL)
    assert 0 < done < total, "the kill must land mid-run"
    subprocess.run(
        [sys.executable, "-m", "service.cli", "worker", "--once"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    inbox_rows = rows(engine, schema.inbox)
    assert {r["status"] for r in inbox_rows} == {"done"}
    assert {r["attempts"] for r in inbox_rows} == {1}  # none was half-applied and redone
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.issues)).scalar() == total


def _wait_for_progress(engine, deadline: float) -> int:
    done = 0
    while time.monotonic() < deadline:
        # A deferred (read) transaction: it must not queue behind the worker's write batch.
        with reader(engine) as conn:
            done = conn.execute(
                select(func.count())
                .select_from(schema.inbox)
                .where(schema.inbox.c.status == "done")
            ).scalar()
        if done > 0:
            break
        time.sleep(0.02)
    return done


def test_people_are_remembered_by_display_name_for_the_client_facing_digest(engine):
    deliver(engine, fixture_body("cloud_issue_created"), fixture_body("dc_worklog_updated"))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    names = {r["id"]: r["display_name"] for r in rows(engine, schema.people)}
    assert names["5f8a1c2b3d4e5f6a7b8c9d01"] == "Alice Dev"
    assert names["alice"] == "Alice Dev"  # Data Center: by user name


def test_a_baseline_captured_between_batches_applies_to_the_next_batch(engine):
    # Each batch reads the baseline once; the next batch, on the same pooled connection, must
    # read it again, or issues in a snapshot captured meanwhile would be flagged as new scope.
    first = fixture_body("cloud_issue_created")
    deliver(engine, first)
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    with engine.begin() as conn:
        baseline_id = conn.execute(
            insert(schema.baselines).values(
                project_key="ACME", version=1, name="v1", captured_at=NOW
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(schema.baseline_items).values(
                baseline_id=baseline_id, issue_id="10102", key="ACME-102",
                issue_type="Story", status="To Do",
            )
        )  # fmt: skip
    second = copy.deepcopy(first)
    second["issue"].update(id="10102", key="ACME-102")
    third = copy.deepcopy(first)
    third["issue"].update(id="10103", key="ACME-103")
    deliver(engine, second, third)
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    flagged = {r["issue_id"] for r in rows(engine, schema.scope_changes)}
    # 10101 was new scope under the mapping's date; 10102 is in the snapshot, 10103 is not.
    assert flagged == {"10101", "10103"}
