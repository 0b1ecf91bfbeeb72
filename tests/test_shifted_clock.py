"""`make test-shifted`: tests/shifted/sitecustomize.py moves the wall clock of every process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from tests.support import ROOT

# A parent that prints its time, then starts a child that prints its own.
TWO_CLOCKS = """
import datetime, subprocess, sys
print(datetime.datetime.now(datetime.UTC).isoformat(), flush=True)
subprocess.run([sys.executable, "-c",
    "import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())"], check=True)
"""


def shifted_env(destination: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEWATCH_SHIFT_CLOCK")}
    return {
        **env,
        "PYTHONPATH": str(ROOT / "tests" / "shifted"),
        "SCOPEWATCH_SHIFT_CLOCK_TO": destination,
    }


def test_a_process_and_the_processes_it_starts_share_one_moved_clock() -> None:
    done = subprocess.run(
        [sys.executable, "-c", TWO_CLOCKS],
        env=shifted_env("2030-06-15T12:00:00+00:00"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    parent, child = (datetime.fromisoformat(line) for line in done.stdout.split())
    destination = datetime(2030, 6, 15, 12, tzinfo=UTC)
    assert destination <= parent < child < destination + timedelta(hours=1)  # ticking, together


def test_a_date_alone_means_its_midnight_in_utc() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import time; print(time.gmtime()[:3])"],
        env=shifted_env("2027-01-04"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert done.stdout.strip() == "(2027, 1, 4)"


def test_a_destination_that_is_no_date_stops_the_process_instead_of_running_unshifted() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "print('ran')"],
        env=shifted_env("next tuesday"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert "ran" not in done.stdout
    assert "SCOPEWATCH_SHIFT_CLOCK_TO='next tuesday'" in done.stderr
