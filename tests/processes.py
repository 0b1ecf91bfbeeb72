"""Processes a test starts: each in a session (and process group) of its own, and ended with
everything it started in turn — gunicorn's workers, the server `docker/entrypoint.sh` runs.

Signalling the pid alone ends the parent and orphans its children; signalling the group does not.
`tests/conftest.py` fails the run when a process outlives the suite anyway.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


def start(args: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen(args, **popen)` as the leader of a new session and process group."""
    return subprocess.Popen(args, start_new_session=True, **popen)


def signal_group(proc: subprocess.Popen[Any], signum: int) -> None:
    """`signum` to every process left in `proc`'s group (none left is fine)."""
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass


def stop(
    proc: subprocess.Popen[Any], *, signum: int = signal.SIGTERM, grace: float = 10.0
) -> tuple[Any, Any]:
    """Ends `proc` and its group: `signum` first, SIGKILL to whatever is left after `grace`
    seconds. Returns what it wrote to its pipes (None for a stream that was not a pipe)."""
    signal_group(proc, signum)
    try:
        out, err = proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        signal_group(proc, signal.SIGKILL)
        out, err = proc.communicate()
    signal_group(proc, signal.SIGKILL)  # a child that ignored the signal and outlived its parent
    return out, err


@contextmanager
def running(args: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """A process (and all it starts) for the length of the block."""
    proc = start(args, **popen)
    try:
        yield proc
    finally:
        stop(proc)


def live_children(pid: int) -> list[tuple[int, str]]:
    """The children of `pid` still running (zombies left out), with their command lines."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                state, ppid = stat.read().rsplit(")", 1)[1].split()[:2]
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue  # it ended while we looked
        if int(ppid) == pid and state != "Z":
            found.append((int(entry.name), command))
    return found
