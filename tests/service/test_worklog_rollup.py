"""The worklog roll-up always says what summing the worklogs themselves says.

Whatever Jira sends, in whatever order, twice or late, the roll-up (days plus unfolded deltas)
equals the worklogs summed per project, local day, author and components; and the digest's
worklog frame is the same whether it reads the roll-up or the worklogs.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from mappings import load_mapping
from service.digest.load import load_frames
from service.intake import inbox
from service.mirror import rollup as worklog_rollup
from service.mirror.worker import drain_inbox
from service.store import schema
from service.store.clock import frozen_clock
from service.store.engine import make_engine, reader
from tests.support import NOW, ROOT

MAPPING = load_mapping(ROOT / "mappings" / "sandbox.toml")  # ACME: Berlin, BETA: Vienna
PROJECTS = ["ACME", "BETA", "GAMMA"]  # GAMMA is not mapped: its worklogs count nowhere
COMPONENTS = [[], ["Backend"], ["Frontend"], ["Backend", "Design"]]
AUTHORS = ["aa01", "bb02", None]
# Around the end of Berlin's summer time and a few midnights, where a day is easy to get wrong.
EPOCH = datetime(2026, 10, 20, tzinfo=UTC)


def deliver(engine, bodies):
    with engine.begin() as conn:
        for body in bodies:
            raw = json.dumps(body).encode()
            inbox.store(conn, body=raw, event=body["webhookEvent"], delivery_id=None, now=NOW)


def issue_event(event, issue_id, project, components, ts):
    return {
        "webhookEvent": event,
        "timestamp": ts,
        "issue": {
            "id": issue_id,
            "key": f"{project}-{issue_id}",
            "fields": {
                "project": {"key": project},
                "summary": f"issue {issue_id}",
                "issuetype": {"name": "Task"},
                "status": {"name": "To Do", "statusCategory": {"key": "new"}},
                "components": [{"name": c} for c in components],
                "created": "2026-10-01T09:00:00.000+0000",
            },
        },
    }


def worklog_event(event, worklog_id, issue_id, author, started, seconds, updated):
    return {
        "webhookEvent": event,
        "timestamp": 0,
        "worklog": {
            "id": worklog_id,
            "issueId": issue_id,
            "author": {"accountId": author} if author else None,
            "started": started.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "timeSpentSeconds": seconds,
            "updated": updated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        },
    }


def random_history(rng: random.Random, count: int) -> list[dict]:
    """Issues created, moved, re-componented and deleted; worklogs logged, edited, deleted;
    worklogs before their issue; repeats and stale copies."""
    events: list[dict] = []
    issues = [str(10_000 + n) for n in range(16)]
    worklogs = [str(50_000 + n) for n in range(150)]
    clock = 1_800_000_000_000
    for _ in range(count):
        clock += rng.randint(1, 10_000)
        roll = rng.random()
        if roll < 0.25:
            event = rng.choice(["jira:issue_created", "jira:issue_updated"])
            events.append(
                issue_event(
                    event,
                    rng.choice(issues),
                    rng.choice(PROJECTS),
                    rng.choice(COMPONENTS),
                    clock - rng.choice([0, 0, 0, 50_000]),  # sometimes a stale copy
                )
            )
        elif roll < 0.26:  # deletions are final: only a few issues ever go
            gone = rng.choice(issues[:3])
            events.append(issue_event("jira:issue_deleted", gone, "ACME", [], clock))
        elif roll < 0.95:
            started = EPOCH + timedelta(minutes=rng.randint(0, 60 * 24 * 14))
            updated = datetime.fromtimestamp(clock / 1000 - rng.choice([0, 0, 900]), UTC)
            events.append(
                worklog_event(
                    rng.choice(["worklog_created", "worklog_updated"]),
                    rng.choice(worklogs),
                    rng.choice(issues),
                    rng.choice(AUTHORS),
                    started,
                    rng.randint(1, 8) * 900,
                    updated,
                )
            )
        else:
            events.append(
                worklog_event(
                    "worklog_deleted",
                    rng.choice(worklogs),
                    rng.choice(issues),
                    None,
                    EPOCH,
                    0,
                    datetime.fromtimestamp(clock / 1000, UTC),
                )
            )
        if rng.random() < 0.1:
            events.append(events[-1])  # Jira delivers some events twice
    return events


def worklog_ids_consistent(events: list[dict]) -> list[dict]:
    """Jira never moves a worklog to another issue: pin each worklog to its first issue."""
    first: dict[str, str] = {}
    for body in events:
        worklog = body.get("worklog")
        if worklog:
            worklog["issueId"] = first.setdefault(worklog["id"], worklog["issueId"])
    return events


def rolled_up(conn) -> Counter:
    """(project, day, author, components) -> seconds, from the roll-up's days and deltas."""
    totals: Counter = Counter()
    for project in ("ACME", "BETA", "GAMMA"):
        far = datetime(2100, 1, 1, tzinfo=UTC)
        for day, author, components, seconds in conn.execute(
            worklog_rollup.days_query(project, far)
        ):
            totals[(project, day, author, tuple(json.loads(components)))] += seconds
    return +totals


def summed(conn) -> Counter:
    """The same, from the worklogs themselves, in Python: the specification."""
    w, i = schema.worklogs.c, schema.issues.c
    totals: Counter = Counter()
    rows = conn.execute(
        select(i.project_key, i.components, w.author, w.started, w.seconds)
        .join_from(schema.worklogs, schema.issues, i.id == w.issue_id)
        .where(w.deleted.is_(False), i.deleted.is_(False))
    )
    for project, components, author, started, seconds in rows:
        project_info = MAPPING.project(project)
        if project_info is None:
            continue
        local = started.astimezone(ZoneInfo(project_info.digest.tz))
        day = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        totals[(project, day, author or "", tuple(components))] += seconds
    return +totals


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_roll_up_equals_the_worklogs_summed_after_any_history(engine, seed):
    # Empty, but built: deltas are now kept.
    worklog_rollup.ensure_built(engine, MAPPING, now=frozen_clock(NOW))
    rng = random.Random(seed)
    events = worklog_ids_consistent(random_history(rng, 400))
    at = 0
    while at < len(events):
        size = rng.randint(1, 60)
        deliver(engine, events[at : at + size])
        drain_inbox(engine, MAPPING, batch_size=rng.choice([1, 7, 200]))
        at += size
        with reader(engine) as conn:
            assert rolled_up(conn) == summed(conn)
    with reader(engine) as conn:
        expected = summed(conn)
    assert len(expected) > 20  # the history left real sums behind, in several projects
    assert {key[0] for key in expected} == {"ACME", "BETA"}
    # Rebuilding from scratch gives the same rows.
    worklog_rollup.rebuild(engine, "ACME", "Europe/Berlin", now=frozen_clock(NOW))
    worklog_rollup.rebuild(engine, "BETA", "Europe/Vienna", now=frozen_clock(NOW))
    with reader(engine) as conn:
        assert rolled_up(conn) == expected


@pytest.mark.postgres
def test_two_workers_on_postgresql_keep_the_roll_up_exact(pg_database):
    # SQLite has one writer at a time: only PostgreSQL can interleave two workers.
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    engine = make_engine(pg_database)
    worklog_rollup.ensure_built(engine, MAPPING, now=frozen_clock(NOW))
    rng = random.Random(7)
    # Few issues and worklogs, many events: the two workers constantly meet on the same ones.
    deliver(engine, worklog_ids_consistent(random_history(rng, 800)))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            drain_inbox(engine, MAPPING, batch_size=25, now=frozen_clock(NOW))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors
    with reader(engine) as conn:
        pending = conn.execute(select(func.count()).where(schema.inbox.c.status != "done")).scalar()
        assert pending == 0
        assert rolled_up(conn) == summed(conn)
    engine.dispose()


def _history_for_digest(engine) -> None:
    worklog_rollup.ensure_built(engine, MAPPING, now=frozen_clock(NOW))
    rng = random.Random(11)
    deliver(engine, worklog_ids_consistent(random_history(rng, 300)))
    drain_inbox(engine, MAPPING, now=frozen_clock(NOW))


@pytest.mark.parametrize(
    "until",
    [
        datetime(2026, 11, 2, tzinfo=ZoneInfo("Europe/Berlin")),  # a Monday midnight
        datetime(2026, 10, 28, 15, 37, tzinfo=ZoneInfo("Europe/Berlin")),  # mid-day, mid-week
    ],
)
def test_the_digest_reads_the_same_worklog_sums_from_the_roll_up_as_from_the_worklogs(
    engine, until
):
    _history_for_digest(engine)
    with reader(engine) as conn:
        assert worklog_rollup.built_zone(conn, "ACME") == "Europe/Berlin"
        from_rollup = load_frames(conn, "ACME", until, tz="Europe/Berlin").worklogs
    with engine.begin() as conn:  # forget the roll-up: the digest must sum the worklogs
        conn.execute(schema.worklog_rollups.delete())
    with reader(engine) as conn:
        from_worklogs = load_frames(conn, "ACME", until, tz="Europe/Berlin").worklogs
    assert from_rollup["seconds"].sum() > 0
    order = ["started", "author", "components"]
    pd.testing.assert_frame_equal(
        from_rollup.sort_values(order).reset_index(drop=True),
        from_worklogs.sort_values(order).reset_index(drop=True),
    )


def test_a_roll_up_built_in_another_zone_is_rebuilt_when_the_worker_starts(engine):
    _history_for_digest(engine)
    with reader(engine) as conn:
        before = rolled_up(conn)
    moved = replace(
        MAPPING,
        projects=tuple(
            replace(p, digest=replace(p.digest, tz="America/New_York")) if p.key == "ACME" else p
            for p in MAPPING.projects
        ),
    )
    with reader(engine) as conn:  # the digest in the new zone does not trust the old days
        assert worklog_rollup.built_zone(conn, "ACME") == "Europe/Berlin"
    assert worklog_rollup.ensure_built(engine, moved, now=frozen_clock(NOW)) == ["ACME"]
    assert worklog_rollup.ensure_built(engine, moved, now=frozen_clock(NOW)) == []  # once is enough
    with reader(engine) as conn:
        assert worklog_rollup.built_zone(conn, "ACME") == "America/New_York"
        after = rolled_up(conn)
    acme = lambda sums: {k: v for k, v in sums.items() if k[0] == "ACME"}  # noqa: E731
    assert sum(acme(after).values()) == sum(acme(before).values())
    # New York's days start six hours after Berlin's.
    assert {k[1].hour for k in acme(after)} <= {4, 5}
    assert {k[1].hour for k in acme(before)} <= {22, 23}
