"""Intake: the real service under gunicorn, loaded by wrk, against the bare reference receiver.

The three servers (reference, service on SQLite, service on PostgreSQL) start once, each with a
fresh database (a SQLite file or a throw-away PostgreSQL database, migrated by `scopewatch db
upgrade`), and are warmed up for 2 s with bodies of their own. Then `wrk --latency` loads them in
turn: rounds of short runs at each concurrency, the order rotating from round to round, so that
the noise of a shared machine falls on all of them alike and each ratio compares runs a few
seconds apart. Every request carries a distinct signed body (see `signed_bodies.lua`). At the end
we count the rows each server stored and compare them with the 202s wrk saw: an answered
delivery without a row would be a lost one (a few more rows than answers are requests that were
in flight when a run stopped). Smoke mode: one 1 s round at c=8, no warm-up, migrations
in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import history, payloads, reference_receiver
from bench.core import (
    SECRET,
    VENV_BIN,
    BenchResult,
    Context,
    Figure,
    free_port,
    log,
    migrate,
    pg_database,
    pg_reachable,
    server_process,
    service_env,
    sqlite_url,
)
from service.intake.signature import sign

LUA = Path(__file__).with_name("signed_bodies.lua")
WRK_THREADS = 2  # one per core; wrk is event-driven, so this does not cap connections
P99_TARGET_MS = 25.0
RATE_TARGET = 0.8  # of the reference's req/s
ROUNDS, RUN_SECONDS = 3, 5  # per concurrency and server: 15 s of load in all


@dataclass(frozen=True)
class Run:
    """One wrk run against one server."""

    target: str  # "reference", "sqlite", "postgres"
    connections: int
    round: int
    stats: dict[str, Any]
    cpu_seconds: float  # the server's (master + workers) during the run

    @property
    def rate(self) -> float:
        return float(self.stats["requests"]) / (self.stats["duration_us"] / 1e6)

    @property
    def p99_ms(self) -> float:
        return float(self.stats["p99_us"]) / 1000

    @property
    def failures(self) -> int:
        s = self.stats
        return int(
            s["other"]
            + s["s401"]
            + s["connect_errors"]
            + s["read_errors"]
            + s["write_errors"]
            + s["timeouts"]
        )


@dataclass
class Server:
    """A running server with its own database, and how far into the body files it has got."""

    target: str
    db_url: str
    base: str
    proc: subprocess.Popen[bytes]
    logfile: Path
    sent_by_thread: list[int] = field(default_factory=lambda: [0] * WRK_THREADS)
    rows_at_start: int = 0


def ensure_wrk(smoke: bool) -> str | None:
    """wrk's path; installs the Debian package on a fresh machine (skipped only in smoke mode)."""
    found = shutil.which("wrk")
    if found or smoke:
        return found
    log("wrk is missing: apt-get install -y wrk")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed (root needed):\n{done.stderr[-2000:]}")
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is still missing after apt-get install wrk")
    return found


def write_bodies(prefix: Path, count: int, seed: int, threads: int = WRK_THREADS) -> Path:
    """`count` distinct signed deliveries, dealt round-robin into one file per wrk thread."""
    if all(Path(f"{prefix}.{t}").exists() for t in range(threads)):
        return prefix
    files = [open(f"{prefix}.{t}", "wb") for t in range(threads)]
    try:
        stream = payloads.delivery_stream(count, seed=seed, issues_known=50_000)
        for i, (_, document) in enumerate(stream):
            body = payloads.encode(document)
            line = f"bench-{seed}-{i}\t{sign(SECRET, body)}\t".encode() + body + b"\n"
            files[i % threads].write(line)
    finally:
        for handle in files:
            handle.close()
    return prefix


# --- servers and runs -----------------------------------------------------------------------


@contextmanager
def database(ctx: Context, target: str) -> Iterator[str]:
    """A migrated, empty database for one server (or the reference receiver's SQLite file)."""
    if target == "postgres":
        with pg_database(ctx.pg_server) as url:
            migrate(url, cli=not ctx.smoke)
            yield url
        return
    path = ctx.path(f"intake-{target}.db")
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    url = sqlite_url(path)
    if target == "sqlite":
        migrate(url, cli=not ctx.smoke)
    else:
        reference_receiver.create(str(path))
    yield url


def server_command(target: str) -> list[str]:
    app = "bench.reference_receiver:app" if target == "reference" else "service:create_app()"
    return [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", app]


@contextmanager
def started(ctx: Context, target: str) -> Iterator[Server]:
    port = free_port()
    with database(ctx, target) as url:
        env = service_env(
            url,
            SCOPEWATCH_BIND=f"127.0.0.1:{port}",
            SCOPEWATCH_WEB_WORKERS="2",
            BENCH_REFERENCE_DB=url.split("///", 1)[-1],
        )
        base = f"http://127.0.0.1:{port}"
        ready = f"{base}/" if target == "reference" else f"{base}/healthz"
        logfile = ctx.path(f"intake-{target}.log")
        with server_process(server_command(target), env, ready, logfile) as proc:
            yield Server(target, url, base, proc, logfile)


def stored_rows(server: Server) -> int:
    table = "deliveries" if server.target == "reference" else "inbox"
    return history.count_rows(server.db_url, table)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants, from /proc."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return total
    return total + sum(cpu_seconds(int(child)) for child in children)


def wrk(binary: str, server: Server, prefix: Path, connections: int, seconds: int) -> dict:
    skips = ",".join(str(n) for n in server.sent_by_thread)
    cmd = [
        binary, "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{seconds}s",
        "--latency", "--timeout", "10s", "-s", str(LUA), server.base, "--", str(prefix), skips,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    with open(server.logfile, "a") as out:
        out.write(f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}\n")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
    stats: dict[str, Any] = json.loads(lines[-1].split(" ", 1)[1])
    return stats


def one_run(
    binary: str, server: Server, connections: int, seconds: int, bodies: Path, r: int
) -> Run:
    cpu_before = cpu_seconds(server.proc.pid)
    stats = wrk(binary, server, bodies, connections, seconds)
    cpu = cpu_seconds(server.proc.pid) - cpu_before
    server.sent_by_thread = [
        a + b for a, b in zip(server.sent_by_thread, stats["sent_by_thread"], strict=True)
    ]
    run = Run(server.target, connections, r, stats, cpu)
    log(
        f"intake {server.target} c={connections} round {r + 1}: {run.rate:.0f} req/s, "
        f"p99 {run.p99_ms:.1f} ms"
    )
    return run


def warm_up(binary: str, server: Server, warm: Path) -> None:
    """Imports, connections and page cache warm; the rows it stores are not counted."""
    wrk(binary, server, warm, 8, 2)
    server.sent_by_thread = [0] * WRK_THREADS  # the warm-up used its own bodies
    time.sleep(0.3)  # let its last in-flight requests land before counting
    server.rows_at_start = stored_rows(server)


def load_rounds(ctx: Context, binary: str, servers: list[Server], bodies: Path) -> list[Run]:
    """Rounds of short runs, the targets in a rotating order: a burst of noise from the rest of
    the machine then hits every target alike, and ratios are taken within a round.
    """
    rounds, seconds = (1, 1) if ctx.smoke else (ROUNDS, RUN_SECONDS)
    concurrencies = [8] if ctx.smoke else [8, 32]
    runs = []
    for r in range(rounds):
        for c in concurrencies:
            order = servers[r % len(servers) :] + servers[: r % len(servers)]
            runs += [one_run(binary, server, c, seconds, bodies, r) for server in order]
    return runs


# --- the bench -----------------------------------------------------------------------------------


def run(ctx: Context) -> BenchResult:
    result = BenchResult(
        "intake",
        "Webhook intake under gunicorn (2 sync workers), loaded by wrk from another process",
        "`bench/reference_receiver.py`: HMAC check + INSERT of the raw body into SQLite "
        "(WAL, synchronous=FULL) under the same gunicorn settings; same bodies, same wrk",
    )
    binary = ensure_wrk(ctx.smoke)
    if binary is None:
        result.skipped = "wrk is not installed (smoke mode does not install it)"
        return result
    count = ctx.scale(200_000, 2_000)
    log(f"intake: writing {count} signed bodies")
    bodies = write_bodies(ctx.path("bodies"), count, seed=11)
    warm = write_bodies(ctx.path("warm"), ctx.scale(20_000, 10), seed=12)
    targets = ["reference", "sqlite"]
    if pg_reachable(ctx.pg_server):
        targets.append("postgres")
    else:
        result.notes.append(f"PostgreSQL not reachable at {ctx.pg_server}: not measured")
    with ExitStack() as stack:
        servers = [stack.enter_context(started(ctx, target)) for target in targets]
        for server in servers:
            if not ctx.smoke:
                warm_up(binary, server, warm)
        runs = load_rounds(ctx, binary, servers, bodies)
        time.sleep(0.5)  # requests in flight when wrk stopped
        stored = {s.target: stored_rows(s) - s.rows_at_start for s in servers}
    report(result, runs, stored)
    size = sum(f.stat().st_size for f in ctx.workdir.glob("bodies.*"))
    rounds, seconds = (1, 1) if ctx.smoke else (ROUNDS, RUN_SECONDS)
    result.notes.append(
        f"{count} distinct bodies ({size / count:.0f} B on average: 87% worklog_created, 9% "
        f"issue_updated with a changelog, 4% issue_created), no body sent twice to a server; "
        f"{WRK_THREADS} wrk threads. Each server started once with its own fresh database and "
        f"warmed up 2 s; then {rounds} round(s) of {seconds} s runs per concurrency, targets in "
        "rotating order. Figures are medians over the rounds; the ratio is the median of the "
        "per-round ratios (service / reference in the same round). p50/p99 from wrk --latency"
    )
    return result


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def report(result: BenchResult, runs: list[Run], stored: dict[str, int]) -> None:
    ref = {(r.round, r.connections): r for r in runs if r.target == "reference"}
    label = {"reference": "reference", "sqlite": "SQLite", "postgres": "PostgreSQL"}
    for target in dict.fromkeys(r.target for r in runs):
        for c in sorted({r.connections for r in runs}):
            mine = [r for r in runs if r.target == target and r.connections == c]
            refs = [ref[(r.round, c)] for r in mine]
            add_rate_and_latency(result, f"{label[target]} c={c}", mine, refs)
        mine = [r for r in runs if r.target == target]
        answered = sum(int(r.stats["s202"]) for r in mine)
        failures = sum(r.failures for r in mine)
        dupes = sum(int(r.stats["s200"]) for r in mine)
        lost = max(0, answered - stored[target])
        result.add(
            Figure(
                f"{label[target]} lost",
                lost,
                "deliveries",
                None,
                "0 lost, 0 errors",
                lost == 0 and failures == 0,
                note=f"{stored[target]} rows for {answered} 202s ({dupes} 200s), {failures} "
                f"errors, {sum(int(r.stats['wraps']) for r in mine)} wraps",
            )
        )


# What the latest profile says, shown in results.md when the target is missed.
RATE_IF_MISSED = (
    "profile of 2026-11-23 (py-spy on both gunicorn workers; in process, 5,000 deliveries): the "
    "service spends about 0.25 ms of CPU per delivery in process, the reference 0.10-0.13 ms. "
    "On SQLite the INSERT is 0.16 ms of ours against the reference's 0.12: the inbox row updates "
    "four B-trees (the key, the two dedupe keys, the worker's claim index), the reference's one. "
    "The rest is spread thin (pooled connection, bind values, the JSON envelope check, metrics; "
    "none over 10 us). Per-round ratios also swing by 0.1 or more with the reference's own rate. "
    "What would close the gap: fewer B-trees per delivery (the dedupe key as the primary key), "
    "a schema change"
)
P99_IF_MISSED = (
    "on SQLite a delivery waits for the write lock while the other web worker writes; intake "
    "tries again every 0.2 ms (with SQLite's own backoff p99 was 30.7 ms, with polling 12 ms, "
    "2026-11-23). A miss means the lock was held longer: a WAL checkpoint, or slower fsyncs "
    "(fsync/s is in the machine table). What would fix it: PostgreSQL, which has no single writer"
)


def add_rate_and_latency(result: BenchResult, name: str, mine: list[Run], refs: list[Run]) -> None:
    is_service = mine[0].target != "reference"
    ratios = [r.rate / f.rate for r, f in zip(mine, refs, strict=True)]
    ratio = _median(ratios)

    def ref(value: float) -> float | None:  # the reference is not its own reference
        return value if is_service else None

    result.add(
        Figure(
            f"{name} req/s",
            _median([r.rate for r in mine]),
            "req/s",
            ref(_median([r.rate for r in refs])),
            f">= {RATE_TARGET}x reference" if is_service else "",
            ratio >= RATE_TARGET if is_service else None,
            note=f"per-round ratios {', '.join(f'{x:.2f}' for x in ratios)}" if is_service else "",
            ratio_value=ratio if is_service else None,
            if_missed=RATE_IF_MISSED,
        )
    )
    p99 = _median([r.p99_ms for r in mine])
    judged = is_service and mine[0].connections == 8
    result.add(
        Figure(
            f"{name} p99",
            p99,
            "ms",
            ref(_median([r.p99_ms for r in refs])),
            f"< {P99_TARGET_MS:.0f} ms" if judged else "",
            p99 < P99_TARGET_MS if judged else None,
            note=f"p50 {_median([r.stats['p50_us'] / 1000 for r in mine]):.1f} ms, p99 per round "
            + ", ".join(f"{r.p99_ms:.0f}" for r in mine),
            if_missed=P99_IF_MISSED if name.startswith("SQLite") else "",
        )
    )
    requests = sum(int(r.stats["requests"]) for r in mine) or 1
    ref_requests = sum(int(r.stats["requests"]) for r in refs) or 1
    result.add(
        Figure(
            f"{name} server CPU per request",
            1000 * sum(r.cpu_seconds for r in mine) / requests,
            "ms",
            ref(1000 * sum(r.cpu_seconds for r in refs) / ref_requests),
            note="gunicorn master + workers, from /proc (the database server not included)",
        )
    )
