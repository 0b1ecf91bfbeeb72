"""Case 2: `kill -9` of the worker at 50 random points of the write-back, then a restart.

Thirty scope changes wait in the outbox; a `scopewatch worker` (env pointing at the sandbox) is
started, allowed to reach Jira, and killed with SIGKILL after a random delay (seeded), fifty times
over. Every Jira call is slowed (sandbox latency) so the kills land inside the write-back: between
any two of its calls, or with a call in flight. After `scopewatch worker --once`, every change
has exactly one label, one comment and one property in Jira, and every inbox row is done.

Outbox leases: a job stays leased while its worker lives, so that no second worker runs it;
a worker on the same host takes back the leases of workers that died, so each restart here
follows the kill at once, with no waiting for leases to run out.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from typing import Any

from tests import processes
from tests.reliability.harness import (
    Effects,
    JiraWorld,
    WorkerFactory,
    run_cli,
    service_env,
    spawn,
)

SEED = 20261123
KILLS = 50
CHANGES = 30  # more than 50 kills can finish, so every kill lands in write-back
LATENCY_MS = 50
MAX_DELAY = 0.3  # seconds after the incarnation's first Jira call
DONE = Effects(
    scope_labels=1, marker_comments=1, comments=1, property_version=1, hours=8.0, cost=680.0
)


def jira_call(entry: dict[str, Any]) -> str:
    """A request-log entry as the write-back step it belongs to."""
    path, method = entry["path"], entry["method"]
    if path.endswith("/serverInfo"):
        return "connect (serverInfo)"
    if "/properties/" in path:
        return f"{method} property"
    if "/comment" in path:
        return f"{method} comment"
    return f"{method} issue"


def calls_since(world: JiraWorld, started: float) -> list[dict[str, Any]]:
    """Jira calls that arrived after `started` (wall clock, as the sandbox logs arrivals).

    A call the previous, killed worker left in flight is logged late but arrived earlier, so it
    is never taken for one of the new worker's.
    """
    return [e for e in world.requests_log() if e["time"] >= started]


def wait_for_first_call(world: JiraWorld, started: float, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not calls_since(world, started):
        if time.monotonic() > deadline:
            outbox = Counter(j["status"] for j in world.table("outbox"))
            raise AssertionError(f"the worker made no Jira call within {timeout}s; {outbox}")
        time.sleep(0.002)


def test_kill_9_at_fifty_random_points_then_restart_gives_exactly_once(
    world: JiraWorld, figures: dict[str, Any]
) -> None:
    keys = world.create_issues(CHANGES, summary="Killed mid write-back")
    env = service_env(world.db_url, jira_url=world.url)
    world.fault(latency_ms=LATENCY_MS)
    rng = random.Random(SEED)
    kill_points: Counter[str] = Counter()
    workers = WorkerFactory(env, "worker-kill9")
    try:
        for _ in range(KILLS):
            started = time.time()
            pid = workers.start("worker")
            wait_for_first_call(world, started)
            time.sleep(rng.uniform(0, MAX_DELAY))
            workers.kill_9(pid)
            # A call in flight at the kill is still carried out (as Jira would), and logged once
            # the sandbox has answered the void. Wait for it: the next worker would otherwise
            # race it, and repeat a PUT Jira had not yet applied, however loaded the machine.
            assert world.sandbox.sandbox.requests.wait_quiet(timeout=10)
            last = max(calls_since(world, started), key=lambda e: e["time"])
            kill_points[jira_call(last)] += 1
    finally:
        workers.close()
    pending_after_kills = sum(j["status"] == "pending" for j in world.table("outbox"))
    assert pending_after_kills > 0, "the kills must interrupt write-back, not an idle worker"

    world.clear_faults()
    restart = run_cli(["worker", "--once"], env)
    assert restart.returncode == 0, restart.stderr
    world.sandbox.wait_for_webhooks()
    follow_up = run_cli(["worker", "--once"], env)  # the webhooks our own writes caused
    assert follow_up.returncode == 0, follow_up.stderr

    assert {key: world.effects(key) for key in keys} == dict.fromkeys(keys, DONE)
    writes = {key: world.writes(key) for key in keys}
    assert {key: (w["comment"], w["property"]) for key, w in writes.items()} == dict.fromkeys(
        keys, (1, 1)
    )
    assert {w.get("comment edit", 0) for w in writes.values()} == {0}
    assert {j["status"] for j in world.table("outbox")} == {"done"}
    assert len(world.table("outbox")) == CHANGES
    assert {r["status"] for r in world.table("inbox")} == {"done"}
    changes = world.table("scope_changes")
    assert {(c["impact_version"], c["written_version"]) for c in changes} == {(1, 1)}
    figures.update(
        kills=KILLS,
        seed=SEED,
        changes=CHANGES,
        jobs_pending_after_kills=pending_after_kills,
        kills_by_last_jira_call=dict(sorted(kill_points.items())),
        job_attempts=sum(j["attempts"] for j in world.table("outbox")),
        edits_sent=sum(w["edit"] for w in writes.values()),
        comments_posted=sum(w["comment"] for w in writes.values()),
        properties_written=sum(w["property"] for w in writes.values()),
    )


def test_a_restart_right_after_a_kill_finishes_the_job(world: JiraWorld) -> None:
    [key] = world.create_issues(1, summary="Killed once")
    env = service_env(world.db_url, jira_url=world.url)
    world.fault(latency_ms=LATENCY_MS)
    worker, _ = spawn(["worker"], env, "worker-lease")
    try:
        deadline = time.monotonic() + 30
        while not any(e["method"] == "PUT" for e in world.requests_log()):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker never started the write-back")
            time.sleep(0.005)
    finally:
        processes.stop(worker, signum=signal.SIGKILL)
    world.clear_faults()
    if run_cli(["worker", "--once"], env).returncode != 0:
        raise RuntimeError("worker --once failed")
    [job] = world.table("outbox")
    assert job["status"] == "done"
    assert world.effects(key) == DONE
