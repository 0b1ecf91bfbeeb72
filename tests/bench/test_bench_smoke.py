"""`python -m bench --smoke`: every benchmark still runs, at tiny sizes, inside `make test`.

It runs as a subprocess, exactly as `make bench` does, and writes its results into a temp
directory (never over bench/results.md). Without wrk (a fresh machine before `make bench` installs
it) the intake bench reports itself skipped; the others must all run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.dateless  # runs the benches' machinery; dates are tested where they are used
@pytest.mark.timeout(420)
def test_every_bench_runs_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    bench = processes.start(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out),
         "--workdir", str(tmp_path / "work")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = bench.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        # SIGTERM lets the bench stop the servers it started in process groups of their own.
        stdout, stderr = processes.stop(bench, grace=60)
    assert bench.returncode == 0, stdout[-3000:] + stderr[-5000:]
    benches = json.loads(out.with_suffix(".json").read_text())["benches"]
    assert set(benches) == {"intake", "bulk_import", "worker", "digest", "baseline", "soak"}
    for name, result in benches.items():
        if name == "intake" and result["skipped"] and "wrk" in result["skipped"]:
            continue
        assert not result["skipped"], f"{name}: {result['skipped']}"
        assert result["figures"], name
    assert "## Summary" in out.read_text()
