"""Case 4: Jira rate-limits (429, Retry-After: 5), then is unavailable (503) for a while.

A real `scopewatch worker` process writes back three scope changes while the sandbox answers
the first call with 429 and `Retry-After: 5`, then the next three with 503. Every write must
complete once Jira recovers, each exactly once, and the sandbox's request log must show that no
request at all reached Jira before the Retry-After had passed.
"""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

from tests import processes
from tests.reliability.harness import Effects, JiraWorld, service_env, spawn

RETRY_AFTER = 5
UNAVAILABLE = 3  # 503 answers after the 429
# The client's backoff after each 503 is at least 2, 4 and 8 s (doubling, plus jitter).
LEAST_OUTAGE = RETRY_AFTER + 2 + 4 + 8


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting until {what}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    processes.stop(proc, signum=signal.SIGINT)  # the worker's loop stops cleanly on Ctrl-C


def test_429_then_503_every_write_completes_and_nothing_is_sent_before_retry_after(
    world: JiraWorld, figures: dict[str, Any]
) -> None:
    keys = world.create_issues(3, summary="Rate limited")
    world.http.delete(f"{world.url}/_sandbox/requests").raise_for_status()
    world.fault(mode="429", count=1, retry_after=RETRY_AFTER)
    world.fault(mode="503", count=UNAVAILABLE)

    worker, _ = spawn(["worker"], service_env(world.db_url, jira_url=world.url), "worker-429")
    try:
        wait_until(
            lambda: (
                {j["status"] for j in world.table("outbox")} == {"done"}
                and len(world.table("outbox")) == 3
            ),
            timeout=90,
            what="every write-back is done",
        )
        world.sandbox.wait_for_webhooks()
        wait_until(lambda: world.pending_inbox() == 0, timeout=30, what="the inbox is drained")
        assert worker.poll() is None, "the worker died under the outage"
    finally:
        stop(worker)

    log = sorted(world.requests_log(), key=lambda e: e["time"])
    statuses = [e["status"] for e in log]
    assert statuses[: 1 + UNAVAILABLE] == [429] + [503] * UNAVAILABLE
    after = log[1 + UNAVAILABLE :]
    # Recovered: no refusal any more (a 404 is the property lookup before the first write).
    assert [e for e in after if e["status"] >= 429] == []
    assert {e["method"] for e in after if e["status"] == 404} <= {"GET"}
    limited_at = log[0]["time"]
    first_after = log[1]["time"] - limited_at
    assert first_after >= RETRY_AFTER, f"a request came {first_after:.2f}s after the 429"
    recovered = log[1 + UNAVAILABLE]["time"] - limited_at
    assert recovered >= LEAST_OUTAGE, recovered

    expected = Effects(
        scope_labels=1, marker_comments=1, comments=1, property_version=1, hours=8.0, cost=680.0
    )
    assert {key: world.effects(key) for key in keys} == dict.fromkeys(keys, expected)
    assert {key: tuple(sorted(world.writes(key).items())) for key in keys} == dict.fromkeys(
        keys, (("comment", 1), ("edit", 1), ("property", 1))
    )
    assert {r["status"] for r in world.table("inbox")} == {"done"}
    figures.update(
        retry_after_s=RETRY_AFTER,
        first_request_after_429_s=round(first_after, 2),
        outage_s=round(recovered, 2),
        refused=1 + UNAVAILABLE,
        changes=3,
        writes_per_change="1 edit, 1 comment, 1 property",
    )
