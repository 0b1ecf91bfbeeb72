"""Digest: `reports.digest.digest_for` on a big mirror, time and peak RSS, against naive pandas.

50,000 issues (with transitions and a scope change for one in twelve issues created after the
baseline) and 100k, then 1M, then 5M worklogs over 52 weeks are written straight into the tables
of one SQLite database, growing it in place; at each size the digest of the last week and the
naive reference (`bench/naive_digest.py`) run in processes of their own, so that `ru_maxrss` is
theirs alone. PostgreSQL is measured at 1M. Both compute the money figures, so the bench also
checks that they agree: a fast digest that sums the wrong rows would not count.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import history
from bench.core import (
    ROOT,
    BenchResult,
    Context,
    Figure,
    log,
    migrate,
    pg_database,
    pg_reachable,
    run_child,
    sqlite_url,
)

SECONDS_TARGET = 2.0
RSS_TARGET_MB = 1024.0
WEEK = "2026-W47"  # the 52nd week of the generated history
TZ = "Europe/Berlin"  # ACME's digest zone in MAPPING below
BASELINE = datetime.fromisoformat("2026-02-01T09:00:00+00:00")
# What the latest profile says, shown in results.md when the target is missed.
IF_MISSED = (
    "profile of 2026-11-23 (50,000 issues, SQLite, the first digest in a fresh process, about "
    "1.8 s then): reading the issues 0.35-0.41 s (SQLite's own fetch of the 50,000 rows is 0.25 s "
    "of it), the 122k transitions 0.26 s, giving the frames their dtypes 0.27 s, the "
    "calculations 0.7 s; the worklogs come from the roll-up in 0.02 s. Reading only the "
    "transitions the digest needs is no faster on SQLite: a window query took 0.47 s and a "
    "correlated one 0.2 s, against 0.15 s to read them all. What would fix it: each issue's "
    "state at each week's end kept by the worker, as the worklog roll-up is"
)
NAIVE_LIMIT = 1_000_000  # the naive reference needs ~1 GB per million rows: not run beyond
MAPPING = """\
# scopewatch bench: the sandbox mapping, with ACME's dates and money fitted to 52 weeks of work.
[jira]
story_points_field = "customfield_10016"
flagged_field      = "customfield_10021"
scope_change_label = "scope-change"
approved_label     = "scope-approved"
rejected_label     = "scope-rejected"

[[projects]]
key = "ACME"
client = "Acme Corp"
currency = "EUR"
budget = 450000000
start = 2025-11-24
end = 2026-12-31
baseline = 2026-02-01T09:00:00Z
hours_per_point = 6
weekly_capacity_hours = 120000
default_rate = 85
exclude_types = ["Bug"]
digest = { to = ["pm@acme.example"], day = "MON", hour = 8, tz = "Europe/Berlin" }
categories = { "Backend" = 200000000, "Frontend" = 150000000, "Design" = 50000000 }

[rates]
developer = 85
designer = 70
pm = 95

[people]
"5f8a1c2b3d4e5f6a7b8c9d01" = "developer"
"5f8a1c2b3d4e5f6a7b8c9d02" = "developer"
"5f8a1c2b3d4e5f6a7b8c9d03" = "designer"
"5f8a1c2b3d4e5f6a7b8c9d04" = "pm"
"5f8a1c2b3d4e5f6a7b8c9d05" = "developer"

[estimates]
Story = 8
Task = 4
Epic = 40

[statuses]
blocked = ["Blocked"]
waiting_on_client = ["Waiting for client"]
done_categories = ["done"]
"""


def digest_present() -> bool:
    return importlib.util.find_spec("reports.digest") is not None


def load_base(url: str, issues: int) -> None:
    """Everything but the worklogs: issues, their transitions, scope changes."""
    history.bulk_insert(url, "issues", history.ISSUE_COLUMNS, history.issue_rows(issues))
    history.bulk_insert(
        url, "transitions", history.TRANSITION_COLUMNS, history.transition_rows(issues)
    )
    history.bulk_insert(
        url, "scope_changes", history.SCOPE_COLUMNS, history.scope_change_rows(issues, BASELINE)
    )


def grow(url: str, have: int, want: int, issues: int) -> None:
    log(f"digest: worklogs {have} -> {want}")
    history.bulk_insert(
        url,
        "worklogs",
        history.WORKLOG_COLUMNS,
        history.worklog_rows(have, want - have, issues, seed=5),
    )
    history.analyze(url)


def build_rollup(url: str) -> float:
    """Seconds to build ACME's worklog roll-up, as a worker does once when it first starts.

    The history was written straight into the tables, past the worker that keeps the roll-up
    current event by event, so it is built here; the digest then reads it.
    """
    from service.mirror.rollup import rebuild
    from service.store.engine import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    rebuild(engine, "ACME", TZ)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def measure(url: str, mapping: Path, naive: bool, runs: int = 3) -> dict[str, Any]:
    args = {"url": url, "mapping": str(mapping), "project": "ACME", "week": WEEK}
    out = {"rollup_seconds": build_rollup(url), "digest": run_child("digest", args)}
    if naive:
        out["naive"] = run_child("naive_digest", args)
        out["whole"] = whole_processes(url, mapping, runs)
    return out


def whole_processes(url: str, mapping: Path, runs: int = 3) -> dict[str, float]:
    """Wall seconds (median of `runs`) of the two commands a user would type, start to exit:
    `scopewatch digest build --format json` and the naive script. Imports, connecting and
    writing the output count here, as they do for someone at a shell."""
    env = {
        **os.environ,
        "SCOPEWATCH_DATABASE_URL": url,
        "SCOPEWATCH_MAPPINGS": str(mapping),
        "SCOPEWATCH_INSECURE_DEV": "1",
        "PYTHONPATH": str(ROOT),  # this tree's code, whatever the venv's install points at
    }
    scopewatch = [str(Path(sys.executable).with_name("scopewatch")), "digest", "build"]
    commands = {
        "scopewatch": [*scopewatch, "--project", "ACME", "--week", WEEK, "--format", "json"],
        "naive": [sys.executable, "-m", "bench.naive_digest", url, str(mapping), "ACME", WEEK],
    }
    seconds: dict[str, float] = {}
    for name, command in commands.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        seconds[name] = statistics.median(times)
    return seconds


HELP_TARGET_S = 0.3


def help_figure(runs: int = 5) -> Figure:
    """`scopewatch --help`, start to exit: what every command pays before it does anything."""
    command = [str(Path(sys.executable).with_name("scopewatch")), "--help"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    return Figure(
        "scopewatch --help, whole process",
        seconds,
        "s",
        None,
        f"<= {HELP_TARGET_S} s",
        seconds <= HELP_TARGET_S,
        note=f"median of {runs}; imports only click until a command runs",
    )


def agree(m: dict[str, Any]) -> bool | None:
    """Does the digest's `spent` match the naive sum of the same worklogs (to the cent)?"""
    if "naive" not in m:
        return None
    return abs(float(m["digest"]["spent"]) - float(m["naive"]["spent"])) < 0.01


@contextmanager
def sqlite_database(ctx: Context) -> Iterator[str]:
    path = ctx.path("digest.db")
    for stale in path.parent.glob("digest.db*"):
        stale.unlink()
    url = sqlite_url(path)
    migrate(url)
    yield url


def run(ctx: Context) -> BenchResult:
    result = BenchResult(
        "digest",
        "Digest: `reports.digest.digest_for` of the 52nd week, in a process of its own",
        "`bench/naive_digest.py`: pandas.read_sql of all worklogs joined to issues, then spent "
        "by week, author and category",
    )
    if not digest_present():
        result.skipped = "reports.digest is not in the tree yet"
        return result
    mapping = ctx.path("digest-mapping.toml")
    mapping.write_text(MAPPING)
    issues = ctx.scale(50_000, 300)
    # Smoke: two sizes (growth needs two), the naive reference at the second only.
    # 200k and 1M: the sizes issue 15 asks the whole-process comparison at.
    sizes = [200_000, 1_000_000, 5_000_000] if not ctx.smoke else [1_000, 4_000]
    headline = sizes[1]
    measured: dict[int, dict[str, Any]] = {}
    with sqlite_database(ctx) as url:
        load_base(url, issues)
        have = 0
        for size in sizes:
            grow(url, have, size, issues)
            have = size
            naive = size == headline if ctx.smoke else size <= NAIVE_LIMIT
            measured[size] = measure(url, mapping, naive=naive, runs=1 if ctx.smoke else 3)
            log(f"digest sqlite {size}: {summary(measured[size])}")
    for size in sizes:
        report_size(result, "SQLite", size, measured[size], headline=size == headline)
    report_growth(result, sizes, measured)
    if pg_reachable(ctx.pg_server):
        with pg_database(ctx.pg_server) as url:
            migrate(url)
            load_base(url, issues)
            grow(url, 0, headline, issues)
            pg = measure(url, mapping, naive=not ctx.smoke, runs=3)
            log(f"digest postgres {headline}: {summary(pg)}")
        report_size(result, "PostgreSQL", headline, pg, headline=True)
    result.notes.append(
        f"{issues} issues, worklogs spread evenly over 52 weeks (2025-W48 to {WEEK}) among 6 "
        "authors and 4 components; time is digest_for alone (imports and connecting excluded); "
        "peak RSS is the child process's ru_maxrss, imports included (their share is in the note)"
    )
    if not ctx.smoke:
        result.notes.append(
            f"the naive reference is not run above {NAIVE_LIMIT:,} worklogs: it holds every row "
            "in memory, which is the point of the comparison, and would need several GB at 5M"
        )
    result.add(help_figure())
    return result


def summary(m: dict[str, Any]) -> str:
    d = m["digest"]
    text = f"digest {d['seconds']:.2f} s, {d['peak_rss_mb']:.0f} MB"
    if "naive" in m:
        n = m["naive"]
        text += f"; naive {n['seconds']:.2f} s, {n['peak_rss_mb']:.0f} MB; agree={agree(m)}"
    return text


def _label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


def report_size(
    result: BenchResult, db: str, size: int, m: dict[str, Any], *, headline: bool
) -> None:
    d, n = m["digest"], m.get("naive", {})
    name = f"{db} {_label(size)} worklogs"
    seconds_ok = d["seconds"] <= SECONDS_TARGET and (not n or d["seconds"] < n["seconds"])
    result.add(
        Figure(
            f"{name}: time",
            d["seconds"],
            "s",
            n.get("seconds"),
            f"<= {SECONDS_TARGET:.0f} s and < naive" if headline else "",
            seconds_ok if headline else None,
            if_missed=IF_MISSED if db == "SQLite" else "",
        )
    )
    result.add(
        Figure(
            f"{name}: peak RSS",
            d["peak_rss_mb"],
            "MB",
            n.get("peak_rss_mb"),
            f"<= {RSS_TARGET_MB:.0f} MB",
            d["peak_rss_mb"] <= RSS_TARGET_MB,
            note=f"{d['ready_rss_mb']:.0f} MB after imports",
        )
    )
    result.add(
        Figure(
            f"{name}: roll-up build",
            m["rollup_seconds"],
            "s",
            None,
            "",
            None,
            note="once, when a worker first starts; the worker then keeps it current per event",
        )
    )
    if "whole" in m:
        whole = m["whole"]
        result.add(
            Figure(
                f"{name}: whole process, digest build --format json",
                whole["scopewatch"],
                "s",
                whole["naive"],
                "<= naive script",
                whole["scopewatch"] <= whole["naive"],
                note="start to exit, imports included; median of the runs; reference: "
                "`python -m bench.naive_digest` as a process",
            )
        )
    if n:
        result.add(
            Figure(
                f"{name}: spent agrees with naive",
                float(d["spent"]),
                "EUR",
                float(n["spent"]),
                "equal to the cent",
                agree(m),
            )
        )


def report_growth(result: BenchResult, sizes: list[int], measured: dict[int, Any]) -> None:
    """Time ratio between sizes against the size ratio: at most 1 is linear or better."""
    for small, big in zip(sizes, sizes[1:], strict=False):
        factor = big / small
        t = measured[big]["digest"]["seconds"] / measured[small]["digest"]["seconds"]
        rss = measured[big]["digest"]["peak_rss_mb"] / measured[small]["digest"]["peak_rss_mb"]
        result.add(
            Figure(
                f"growth {_label(small)} -> {_label(big)}: time",
                t,
                "x",
                factor,
                f"<= {factor:.0f}x (linear)",
                t <= factor,
                note=f"peak RSS x{rss:.2f}",
            )
        )
