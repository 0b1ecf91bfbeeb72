"""The facts of the machine a run was measured on, printed at the top of `bench/results.md`."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.core import ROOT, pg_reachable


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def postgres(server: str) -> str:
    if not pg_reachable(server):
        return "not reachable"
    engine = create_engine(server)
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        settings = {
            name: conn.execute(text(f"SHOW {name}")).scalar()
            for name in ("synchronous_commit", "fsync", "shared_buffers")
        }
    engine.dispose()
    shown = ", ".join(f"{k}={v}" for k, v in settings.items())
    return f"{version} ({shown})"


def fsync_rate(directory: Path, seconds: float = 1.0) -> float:
    """Small appends + fsync per second in the work directory: the ceiling of durable commits."""
    path = directory / "fsync-probe"
    count, started = 0, time.perf_counter()
    with open(path, "wb") as handle:
        while time.perf_counter() - started < seconds:
            handle.write(b"x" * 512)
            handle.flush()
            os.fsync(handle.fileno())
            count += 1
    elapsed = time.perf_counter() - started
    path.unlink()
    return count / elapsed


def git_revision() -> str:
    """The commit measured, and whether the tree had uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [line[3:] for line in dirty.splitlines() if line.strip()]
    if not changed:
        return head
    shown = ", ".join(changed[:8]) + (", ..." if len(changed) > 8 else "")
    return f"{head} + uncommitted changes to {shown}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def facts(workdir: Path, pg_server: str) -> dict[str, str]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{memory_gib():.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": sys.version.split()[0],
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres(pg_server),
        "fsync/s (work dir)": f"{fsync_rate(workdir):.0f}",
        "load average at start": load_average(),
        "commit": git_revision(),
    }
