"""Bulk import: `scopewatch inbox import FILE.jsonl` of generated deliveries, rows per second.

The command runs as an operator runs it (a process of its own, into a fresh migrated database);
its start-up is measured apart, with a one-line file, and taken out of the rate so that the
figure is the import's. The reference stores the same lines with the same checks and
durability (body parsed for its `webhookEvent`, SHA-256 for dedupe, one transaction per 1,000
lines, synchronous commit) by raw `executemany`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import psycopg

from bench import history, payloads
from bench.core import (
    VENV_BIN,
    BenchResult,
    Context,
    Figure,
    log,
    migrate,
    pg_database,
    pg_reachable,
    raw_dsn,
    run_checked,
    run_child,
    service_env,
    sqlite_url,
)

BATCH = 1000
INSERT = (
    "INSERT INTO inbox (body_sha256, event, body, received_at, source, status, attempts, "
    "duplicates) VALUES (?, ?, ?, ?, 'import', 'pending', 0, 0) ON CONFLICT DO NOTHING"
)


def write_jsonl(path: Path, count: int, seed: int) -> Path:
    if not path.exists():
        with open(path, "wb") as out:
            for _, document in payloads.delivery_stream(count, seed=seed, issues_known=50_000):
                out.write(payloads.encode(document) + b"\n")
    return path


def _lines(path: str) -> Iterator[tuple[str, str, bytes, str]]:
    now = history.stamp(datetime.now(UTC))
    with open(path, "rb") as handle:
        for line in handle:
            body = line.strip()
            event = json.loads(body)["webhookEvent"]
            yield hashlib.sha256(body).hexdigest(), event, body, now


def reference_import(url: str, path: str) -> int:
    """Stores every line, 1,000 per transaction; returns the lines read."""
    lines = _lines(path)
    read = 0
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        while batch := list(islice(lines, BATCH)):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, batch)
            conn.execute("COMMIT")
            read += len(batch)
        conn.close()
        return read
    with psycopg.connect(raw_dsn(url)) as pg, pg.cursor() as cur:
        while batch := list(islice(lines, BATCH)):
            cur.executemany(INSERT.replace("?", "%s"), batch)
            pg.commit()
            read += len(batch)
    return read


@contextmanager
def fresh_database(ctx: Context, kind: str, tag: str) -> Iterator[str]:
    if kind == "postgres":
        with pg_database(ctx.pg_server) as url:
            migrate(url)
            yield url
        return
    path = ctx.path(f"import-{tag}.db")
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    url = sqlite_url(path)
    migrate(url)
    yield url


def cli_import(url: str, path: Path) -> float:
    started = time.perf_counter()
    run_checked([str(VENV_BIN / "scopewatch"), "inbox", "import", str(path)], env=service_env(url))
    return time.perf_counter() - started


def measure(ctx: Context, kind: str, data: Path, one: Path) -> dict[str, float]:
    startup = 0.0
    if not ctx.smoke:  # a smoke run only proves the command works; its rate means nothing
        with fresh_database(ctx, kind, "startup") as url:
            startup = cli_import(url, one)
    with fresh_database(ctx, kind, "service") as url:
        wall = cli_import(url, data)
        stored = history.count_rows(url, "inbox")
    with fresh_database(ctx, kind, "reference") as url:
        reference = run_child("reference_import", {"url": url, "file": str(data)})
        ref_stored = history.count_rows(url, "inbox")
    return {
        "startup": startup,
        "wall": wall,
        "stored": stored,
        "ref_seconds": reference["seconds"],
        "ref_stored": ref_stored,
    }


def run(ctx: Context) -> BenchResult:
    result = BenchResult(
        "bulk_import",
        "Bulk import: `scopewatch inbox import FILE.jsonl`",
        "the same lines, checks and durability (parse, SHA-256, 1,000 per transaction) by the "
        "raw driver's executemany, in a process of its own",
    )
    count = ctx.scale(100_000, 300)
    data = write_jsonl(ctx.path(f"import-{count}.jsonl"), count, seed=21)
    one = write_jsonl(ctx.path("import-1.jsonl"), 1, seed=22)
    kinds = ["sqlite"] + (["postgres"] if pg_reachable(ctx.pg_server) else [])
    for kind in kinds:
        m = measure(ctx, kind, data, one)
        label = "SQLite" if kind == "sqlite" else "PostgreSQL"
        seconds = max(m["wall"] - m["startup"], 1e-6)
        rate, ref_rate = count / seconds, count / m["ref_seconds"]
        log(f"bulk import {kind}: {rate:.0f} rows/s (reference {ref_rate:.0f})")
        result.add(
            Figure(
                f"{label} rows/s",
                rate,
                "rows/s",
                ref_rate,
                note=f"{count} lines in {m['wall']:.1f} s, of which start-up "
                f"{m['startup']:.1f} s (taken out)",
            )
        )
        result.add(
            Figure(
                f"{label} rows stored",
                m["stored"],
                "rows",
                m["ref_stored"],
                f"= {count}",
                m["stored"] == count,
            )
        )
    result.notes.append(
        f"{count} distinct generated deliveries ({data.stat().st_size / count:.0f} B a line on "
        "average), into a fresh migrated database; no target was set for this figure"
    )
    return result
