"""`python -m bench [--only NAME] [--smoke] [--out PATH] [--workdir DIR] [--keep]`.

Runs the benchmarks in order, prints a table, and writes the results: bench/results.md (and
results.json beside it) for a real run; a smoke run writes only where --out says, so that
`make test` never rewrites the checked-in results. Exit status 0 when every bench ran, whether
or not its targets were met: a missed target is a finding, not a crash.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import baseline, bulk_import, digest, intake, machine, report, soak, worker
from bench.core import ROOT, BenchResult, Context, log

BENCHES: dict[str, Callable[[Context], BenchResult]] = {
    "intake": intake.run,
    "bulk_import": bulk_import.run,
    "worker": worker.run,
    "digest": digest.run,
    "baseline": baseline.run,
    "soak": soak.run,
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", choices=sorted(BENCHES), action="append", help="run this bench only (repeatable)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes: seconds, not minutes (what the test suite runs)",
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write results.md")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="scratch space (default: bench/tmp/run-*; removed unless --keep)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args(argv)


def run_one(name: str, ctx: Context) -> BenchResult:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        result = BENCHES[name](ctx)
    except Exception as exc:  # noqa: BLE001 - one broken bench must not hide the others
        traceback.print_exc()
        result = BenchResult(name, name, "-", skipped=f"failed: {type(exc).__name__}: {exc}"[:500])
    result.seconds = time.perf_counter() - started
    result.notes.append(
        f"1-minute load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the "
        f"end (2 would mean both cores busy with other work)"
    )
    return result


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (a test's timeout, an operator) unwinds like Ctrl-C: every server a bench started
    sits in a process group of its own, and only the `finally` blocks stop those groups."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    names = args.only or list(BENCHES)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="run-", dir=_scratch()))
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(workdir=workdir.resolve(), smoke=args.smoke)
    out = args.out or (None if args.smoke else ROOT / "bench" / "results.md")
    measured_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        facts = machine.facts(ctx.workdir, ctx.pg_server)
        results = []
        for name in names:
            log(f"--- {name}")
            results.append(run_one(name, ctx))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report.text_table(results))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        report.write(results, facts, out, measured_at, args.smoke)
        print(f"\nwritten: {out}")
    failed = [r.name for r in results if r.skipped and r.skipped.startswith("failed")]
    return 1 if failed else 0


def _scratch() -> Path:
    """bench/tmp (git-ignored), on the same disk as the service's own database by default."""
    path = ROOT / "bench" / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    sys.exit(main())
