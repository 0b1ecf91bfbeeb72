"""Moves the wall clock of every Python process of a test run (`make test-shifted`).

Python imports `sitecustomize` at start-up from the path, so with this directory on PYTHONPATH
pytest and every process it starts (console scripts, gunicorn and its workers, waitress, the
sandbox Jira) travel with time-machine when `SCOPEWATCH_SHIFT_CLOCK_TO` names a destination: an
ISO date (midnight UTC) or an ISO date-time (UTC when it names no zone). The clock keeps ticking;
monotonic clocks and timed waits are untouched.

The first process turns the destination into an offset from the real clock and hands it down in
`SCOPEWATCH_SHIFT_CLOCK_OFFSET`, so a child started ten minutes into the run reads the same
shifted time as its parent instead of starting again at the destination.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

DESTINATION = "SCOPEWATCH_SHIFT_CLOCK_TO"
OFFSET = "SCOPEWATCH_SHIFT_CLOCK_OFFSET"


def _destination(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _travel() -> None:
    value = os.environ.get(DESTINATION, "").strip()
    if not value:
        return
    import time

    import time_machine

    real = time.time()  # read before time-machine patches the clock
    offset = os.environ.get(OFFSET)
    if offset is None:
        offset = repr(_destination(value).timestamp() - real)
        os.environ[OFFSET] = offset
    time_machine.travel(real + float(offset), tick=True).start()


try:
    _travel()
except Exception as exc:
    # Python would report a failing sitecustomize and run on unshifted: stop instead.
    shift = f"{DESTINATION}={os.environ.get(DESTINATION)!r}"
    raise SystemExit(f"sitecustomize: cannot shift the clock ({shift}): {exc}") from exc
