"""Soak: 10,000 deliveries a minute for 5 minutes per engine, with zero loss and p99 < 100 ms.

The real service runs as in the intake bench (gunicorn, 2 sync workers, a fresh SQLite file or a
throw-away PostgreSQL database migrated by `scopewatch db upgrade`), with a `scopewatch worker`
process draining the inbox meanwhile. A load generator in its own process (`python -m bench.soak
load ...`) sends the intake bench's distinct signed bodies at a FIXED rate: open loop, request `i`
is due at `start + i / rate` whatever happened to earlier ones, handed to a pool of sender threads
(one keep-alive-capable connection each), and its latency is measured from that due time, not
from when a thread got round to sending it, so a stall shows up as latency instead of as a lower
rate (no coordinated omission). At the end we count the inbox rows against the 2xx answers (an
answered delivery without a row is a lost one), the rows still pending, and how long the worker
takes to finish them. The engines run one after the other. Smoke mode: 5 s per engine.
"""

from __future__ import annotations

import http.client
import json
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import history, intake
from bench.core import (
    ROOT,
    VENV_BIN,
    BenchResult,
    Context,
    Figure,
    free_port,
    log,
    pg_reachable,
    python_cmd,
    server_process,
    service_env,
    stop_process,
)

PER_MINUTE = 10_000
RATE = PER_MINUTE / 60  # deliveries per second
FULL_SECONDS, SMOKE_SECONDS = 300, 5
SENDERS = 32  # sender threads (connections) in the generator: enough to absorb stalls
P99_TARGET_MS = 100.0
DRAIN_TIMEOUT = 600.0  # s the worker may take to finish the inbox after the load stops
LABEL = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# What the latest profile says, shown in results.md when the target is missed.
P99_IF_MISSED = (
    "on SQLite a delivery waits while a worker batch holds the write lock, so p99 is about one "
    "batch: 55 ms for up to 200 events on 2026-11-23, 164 ms on a day this machine ran at half "
    "speed. Tried on a 60 s run: batches of 50 with a 2 ms pause between them gave 38 ms instead "
    "of 55, at a cost to the worker's rate that was not measured, so not adopted. What would fix "
    "it: PostgreSQL for sustained bursts, or smaller SQLite batches while intake is busy"
)


# --- the load generator (its own process) -------------------------------------------------------


def load(base: str, bodies: Path, rate: float, seconds: float, senders: int) -> dict[str, Any]:
    """Open-loop load: `rate * seconds` requests, each due on the clock; latency from due time."""
    lines = bodies.read_bytes().splitlines()
    total = int(round(rate * seconds))
    host, port = base.removeprefix("http://").split(":")
    jobs: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def sender() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        while (job := jobs.get()) is not None:
            i, due = job
            delivery_id, signature, body = lines[i % len(lines)].split(b"\t", 2)
            headers = {
                "Content-Type": "application/json; charset=UTF-8",
                "X-Hub-Signature": signature.decode(),
                "X-Atlassian-Webhook-Identifier": delivery_id.decode(),
            }
            status, error = 0, ""
            try:
                conn.request("POST", "/webhooks/jira", body=body, headers=headers)
                answer = conn.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
            took = time.perf_counter() - due
            with lock:
                latencies.append(took)
                if error:
                    errors[error] += 1
                else:
                    statuses[status] += 1
        conn.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.2
    worst_lag = 0.0
    for i in range(total):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        else:
            worst_lag = max(worst_lag, -wait)
        jobs.put((i, due))
    scheduled_for = time.perf_counter() - start
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return (
            1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0
        )

    return {
        "sent": total,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": dict(errors),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": 1000 * latencies[-1] if latencies else 0.0,
        "schedule_seconds": scheduled_for,
        "elapsed_seconds": elapsed,
        "worst_dispatch_lag_ms": 1000 * worst_lag,
        "wraps": max(0, total - len(lines)),
    }


# --- one engine ---------------------------------------------------------------------------------


@dataclass
class EngineRun:
    target: str
    load: dict[str, Any]
    rows: int
    pending: int
    failed: int
    drain_seconds: float | None  # None: not drained within DRAIN_TIMEOUT


@contextmanager
def worker_process(ctx: Context, url: str, target: str) -> Iterator[subprocess.Popen[bytes]]:
    logfile = ctx.path(f"soak-{target}-worker.log")
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "scopewatch"), "worker"],
            cwd=ROOT,
            env=service_env(url),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            time.sleep(0.5)
            if proc.poll() is not None:
                raise RuntimeError(f"scopewatch worker exited {proc.returncode}; see {logfile}")
            yield proc
        finally:
            stop_process(proc)


def pending_rows(url: str) -> int:
    return history.count_rows(url, "inbox", "WHERE status = 'pending'")


def soak_one(ctx: Context, target: str, bodies: Path, seconds: float) -> EngineRun:
    port = free_port()
    with intake.database(ctx, target) as url:
        env = service_env(url, SCOPEWATCH_BIND=f"127.0.0.1:{port}", SCOPEWATCH_WEB_WORKERS="2")
        base = f"http://127.0.0.1:{port}"
        logfile = ctx.path(f"soak-{target}.log")
        with (
            server_process(intake.server_command(target), env, f"{base}/healthz", logfile),
            worker_process(ctx, url, target) as worker,
        ):
            log(f"soak {target}: {RATE * 60:.0f}/min for {seconds:.0f} s")
            cmd = python_cmd(
                "bench.soak", "load", base, str(bodies), str(RATE), str(seconds), str(SENDERS)
            )
            done = subprocess.run(
                cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 180, check=False
            )
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
            if done.returncode != 0 or not lines:
                raise RuntimeError(
                    f"load generator exited {done.returncode}: {done.stderr[-2000:]}"
                )
            stats: dict[str, Any] = json.loads(lines[-1])
            stopped = time.perf_counter()
            rows = history.count_rows(url, "inbox")
            pending = pending_rows(url)
            drain: float | None = 0.0
            left = pending
            while left:
                if worker.poll() is not None:
                    raise RuntimeError(f"scopewatch worker exited {worker.returncode} mid-drain")
                if time.perf_counter() - stopped > DRAIN_TIMEOUT:
                    drain = None
                    break
                time.sleep(0.1)
                left = pending_rows(url)
            if drain is not None and pending:
                drain = time.perf_counter() - stopped
            failed = history.count_rows(url, "inbox", "WHERE status = 'failed'")
    log(
        f"soak {target}: p50 {stats['p50_ms']:.1f} ms, p99 {stats['p99_ms']:.1f} ms, "
        f"{rows} rows, {pending} pending at the end"
    )
    return EngineRun(target, stats, rows, pending, failed, drain)


# --- the bench -----------------------------------------------------------------------------------


def run(ctx: Context) -> BenchResult:
    result = BenchResult(
        "soak",
        f"Soak: {PER_MINUTE:,} deliveries/min at a fixed rate, open loop, with a worker draining",
        "none: the targets are absolute (0 lost, intake p99 < 100 ms at this rate)",
    )
    seconds = SMOKE_SECONDS if ctx.smoke else FULL_SECONDS
    count = int(round(RATE * seconds)) + 10
    log(f"soak: writing {count} signed bodies")
    bodies = intake.write_bodies(ctx.path("soak-bodies"), count, seed=41, threads=1)
    targets = ["sqlite"]
    if pg_reachable(ctx.pg_server):
        targets.append("postgres")
    else:
        result.notes.append(f"PostgreSQL not reachable at {ctx.pg_server}: not measured")
    for target in targets:
        report(result, soak_one(ctx, target, Path(f"{bodies}.0"), seconds))
    result.notes.append(
        f"{seconds} s per engine at {RATE:.1f}/s, engines one after the other, each with a fresh "
        f"database; service under gunicorn (2 sync workers) + 1 `scopewatch worker` process; "
        f"open-loop generator in its own process ({SENDERS} sender threads, http.client), every "
        "request a distinct signed body (the intake bench's mix), latency measured from each "
        "request's scheduled send time (queueing in the generator counts, so no coordinated "
        "omission). Drain time runs from the end of the load until no inbox row is pending"
    )
    return result


def report(result: BenchResult, run: EngineRun) -> None:
    name, s = LABEL[run.target], run.load
    ok = sum(v for k, v in s["statuses"].items() if k.startswith("2"))
    non2xx = sum(v for k, v in s["statuses"].items() if not k.startswith("2"))
    errors = sum(s["errors"].values())
    dupes = s["statuses"].get("200", 0)
    lost = max(0, ok - run.rows)
    achieved = 60 * (s["sent"] - 1) / s["schedule_seconds"] if s["schedule_seconds"] else 0.0
    result.add(
        Figure(
            f"{name} offered rate",
            achieved,
            "/min",
            target=f">= {PER_MINUTE * 0.99:,.0f}/min",
            met=achieved >= PER_MINUTE * 0.99,
            note=f"{s['sent']} sent in {s['schedule_seconds']:.1f} s; worst dispatch lag "
            f"{s['worst_dispatch_lag_ms']:.1f} ms; {s['wraps']} wraps",
        )
    )
    result.add(
        Figure(
            f"{name} lost",
            lost,
            "deliveries",
            target="0 lost, 0 non-2xx",
            met=lost == 0 and non2xx == 0 and errors == 0,
            note=f"{run.rows} rows stored for {ok} 2xx ({dupes} of them 200 duplicate); "
            f"{non2xx} non-2xx {dict((k, v) for k, v in s['statuses'].items() if k[0] != '2')}, "
            f"{errors} connection errors {s['errors'] or ''}".rstrip(),
        )
    )
    result.add(
        Figure(
            f"{name} intake p99",
            s["p99_ms"],
            "ms",
            target=f"< {P99_TARGET_MS:.0f} ms",
            met=s["p99_ms"] < P99_TARGET_MS,
            note=f"p50 {s['p50_ms']:.1f} ms, max {s['max_ms']:.0f} ms (from scheduled send time)",
            if_missed=P99_IF_MISSED if run.target == "sqlite" else "",
        )
    )
    result.add(Figure(f"{name} intake p50", s["p50_ms"], "ms"))
    result.add(
        Figure(
            f"{name} inbox pending at the end",
            run.pending,
            "rows",
            note=f"{run.failed} rows failed by the worker",
        )
    )
    result.add(
        Figure(
            f"{name} drain time after the load",
            run.drain_seconds,
            "s",
            note="not drained within the timeout" if run.drain_seconds is None else "",
        )
    )


def main(argv: list[str]) -> int:
    if len(argv) != 6 or argv[0] != "load":
        print("usage: python -m bench.soak load BASE BODIES RATE SECONDS SENDERS", file=sys.stderr)
        return 2
    _, base, bodies, rate, seconds, senders = argv
    print(json.dumps(load(base, Path(bodies), float(rate), float(seconds), int(senders))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
