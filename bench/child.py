"""`python -m bench.child KIND JSON`: one measured job in a process of its own.

The child imports and connects first, prints "ready", waits for "go" on stdin, does the job, and
prints one JSON line: the job's own answer plus `seconds` (the job alone), `ready_rss_mb` (after
imports) and `peak_rss_mb` (the process's high-water mark, VmHWM from /proc). A process of its own
makes the peak RSS the job's, and lets several workers start at the same instant.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

Job = Callable[[], dict[str, Any]]


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def drain(args: dict[str, Any]) -> Job:
    """The loop of `service.mirror.worker.drain_inbox` until the inbox is empty, surviving a
    busy database.

    drain_inbox lets OperationalError out (a SQLite writer that waited past its busy timeout, a
    PostgreSQL deadlock), and its counts with it; `scopewatch worker` (run_forever) logs the error,
    waits its poll interval and goes on. So we run drain_inbox's loop (`process_batch`) with the
    same tolerance, and count how often, and why, it was needed.
    """
    from sqlalchemy.exc import OperationalError

    from mappings import load_mapping
    from service.mirror.worker import WorkerStats, process_batch
    from service.store.engine import make_engine

    engine = make_engine(args["url"])
    mapping = load_mapping(args["mapping"])
    with engine.connect():  # connect (and set the pragmas) before the clock starts
        pass

    def job() -> dict[str, Any]:
        stats, retried = WorkerStats(), Counter[str]()
        # A slow worker must not make the bench slow: past the deadline, no new batch is claimed.
        deadline = time.monotonic() + float(args.get("deadline_seconds", 1e9))
        while time.monotonic() < deadline:
            try:
                if not process_batch(engine, mapping, stats=stats):
                    break
            except OperationalError as exc:  # the batch was rolled back: it is claimed again
                retried[_reason(exc)] += 1
                time.sleep(float(args.get("poll_seconds", 1.0)))  # run_forever's default poll
        return {
            "handled": stats.handled,
            "failed": stats.failed,
            "retried": dict(retried),
            "by_outcome": stats.by_outcome,
        }

    return job


def _reason(exc: Exception) -> str:
    """The first line of the driver's message: "database is locked", "deadlock detected"..."""
    orig = getattr(exc, "orig", exc)
    return str(orig).strip().split("\n", 1)[0][:60] or type(orig).__name__


def reference_drain(args: dict[str, Any]) -> Job:
    from bench.reference_worker import drain as ref_drain

    return lambda: {"handled": ref_drain(args["url"]), "failed": 0}


def reference_import(args: dict[str, Any]) -> Job:
    from bench.bulk_import import reference_import as ref_import

    return lambda: {"read": ref_import(args["url"], args["file"])}


def digest(args: dict[str, Any]) -> Job:
    """`reports.digest.digest_for` on a read-only connection, as the digest command does."""
    from mappings import load_mapping
    from service.digest.load import digest_for
    from service.store.engine import make_engine, reader

    engine = make_engine(args["url"])
    mapping = load_mapping(args["mapping"])

    def job() -> dict[str, Any]:
        with reader(engine) as conn:
            built = digest_for(conn, mapping, args["project"], args["week"])
        return {"spent": built["budget"]["spent"], "by_category": built["budget"]["by_category"]}

    return job


def sandbox(args: dict[str, Any]) -> Job:
    """The sandbox Jira (`service.sandbox.SandboxServer`) on a given port, until told to stop.

    In a process of its own so that its request handling does not share a GIL with the client
    it serves: a real Jira is on another machine.
    """
    from service.sandbox import SandboxServer

    server = SandboxServer(port=int(args["port"])).start()

    def job() -> dict[str, Any]:
        sys.stdin.readline()  # "stop"
        server.stop()
        return {"stopped": True}

    return job


def naive_digest(args: dict[str, Any]) -> Job:
    from bench.naive_digest import prepare

    return prepare(args)


KINDS: dict[str, Callable[[dict[str, Any]], Job]] = {
    "drain": drain,
    "reference_drain": reference_drain,
    "reference_import": reference_import,
    "digest": digest,
    "naive_digest": naive_digest,
    "sandbox": sandbox,
}


def main() -> None:
    kind, raw = sys.argv[1], sys.argv[2]
    job = KINDS[kind](json.loads(raw))
    ready_rss = _status_mb("VmRSS")
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    answer = job()
    answer["seconds"] = time.perf_counter() - started
    answer["ready_rss_mb"] = ready_rss
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec, so a child of a big parent
    # would report the parent's peak (this bench's parent reached 1.2 GB loading 5M rows).
    answer["peak_rss_mb"] = _status_mb("VmHWM")
    answer["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(answer, default=str), flush=True)


if __name__ == "__main__":
    main()
