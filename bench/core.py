"""What every benchmark shares: the run context, figures and targets, databases, processes.

Databases are always throw-away: a SQLite file in the run's work directory, or a PostgreSQL
database created on the configured server and dropped (WITH FORCE) when the bench ends, even when
it fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.store.engine import reachable

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECRET = "bench-webhook-secret-3f9a"
PG_SERVER = os.environ.get(
    "SCOPEWATCH_BENCH_PG",
    os.environ.get("SCOPEWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)


@dataclass
class Figure:
    """One measured number, its reference from the same run, and the target it is held to."""

    name: str
    value: float | None
    unit: str
    reference: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    # Set when the ratio is not value / reference, e.g. the median of ratios taken run by run.
    ratio_value: float | None = None
    # What the latest profile says about this figure and what would move it; results.md shows
    # it under the table when the target is missed (the issue asks for exactly that).
    if_missed: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ratio_value is not None:
            return self.ratio_value
        if self.value is None or not self.reference:
            return None
        return self.value / self.reference


@dataclass
class BenchResult:
    name: str
    title: str
    reference: str  # what the reference is, in words
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None  # why the bench did not run

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure


@dataclass(frozen=True)
class Context:
    """One run: where scratch files go, how big things are, which PostgreSQL to use."""

    workdir: Path
    smoke: bool
    pg_server: str = PG_SERVER

    def scale(self, full: int, smoke: int) -> int:
        return smoke if self.smoke else full

    def path(self, name: str) -> Path:
        return self.workdir / name


def log(message: str) -> None:
    """Progress on stderr, so that the table on stdout stays clean."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- databases -----------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def pg_reachable(server: str = PG_SERVER) -> bool:
    return reachable(server)


@contextmanager
def pg_database(server: str = PG_SERVER, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (optionally a copy of `template`), dropped on the way out."""
    name = f"scopewatch_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    clause = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def database_name(url: str) -> str:
    return str(make_url(url).database)


def raw_dsn(url: str) -> str:
    """A libpq DSN for psycopg from a SQLAlchemy URL (the bench's raw-driver references use it)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def migrate(url: str, *, cli: bool = False) -> None:
    """The service's migrations: in this process, or (cli) as `scopewatch db upgrade`."""
    if cli:
        run_checked([str(VENV_BIN / "scopewatch"), "db", "upgrade"], env=service_env(url))
        return
    from service.store.engine import make_engine
    from service.store.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def service_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEWATCH_")}
    env.update(
        SCOPEWATCH_DATABASE_URL=url,
        SCOPEWATCH_WEBHOOK_SECRET=SECRET,
        SCOPEWATCH_MAPPINGS=str(ROOT / "mappings" / "sandbox.toml"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


# --- processes -----------------------------------------------------------------------------------


def run_checked(cmd: list[str], *, env: dict[str, str] | None = None, **kw: Any) -> str:
    """Runs a command to completion; its output is shown only when it fails."""
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False, **kw)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
        )
    return done.stdout


def python_cmd(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # loopback only
                if answer.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def server_process(
    cmd: list[str], env: dict[str, str], ready_url: str, logfile: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own process group, stopped with its group (SIGTERM, then SIGKILL)."""
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_http(ready_url, proc=proc)
            yield proc
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[Any], grace: float = 30.0) -> None:
    """Ends a process started with `start_new_session=True` and everything in its group.

    Killing the leader alone orphaned gunicorn's workers when they took longer to stop than the
    grace (gunicorn's own graceful timeout is 20 s): SIGTERM and SIGKILL go to the whole group.
    """
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
    _signal_group(proc, signal.SIGKILL)  # whatever outlived its leader


def _signal_group(proc: subprocess.Popen[Any], signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass


class Child:
    """A `python -m bench.child KIND ARGS` process: it loads, says ready, waits for go, reports.

    Imports and connections happen before "ready", so the timed part is only the work itself,
    and several children can be started together (the worker bench's 2 processes).
    """

    def __init__(self, kind: str, args: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            python_cmd("bench.child", kind, json.dumps(args)),
            cwd=ROOT,
            env=env or service_env(args.get("url", "sqlite://")),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self) -> None:
        line = self._line()
        if line.strip() != "ready":
            raise RuntimeError(f"child said {line!r} instead of ready:\n{self._stderr()}")

    def go(self) -> None:
        self.send("go")

    def send(self, line: str) -> None:
        stdin = self._stdin()
        stdin.write(line + "\n")
        stdin.flush()

    def result(self, timeout: float = 1800) -> dict[str, Any]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if self.proc.returncode != 0 or not lines:
            raise RuntimeError(f"child exited {self.proc.returncode}:\n{out[-2000:]}{err[-4000:]}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def _stdin(self) -> IO[str]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def _stderr(self) -> str:
        self.proc.kill()
        _, err = self.proc.communicate()
        return str(err)[-4000:]


def run_children(
    kind: str, args: list[dict[str, Any]], env: dict[str, str] | None = None
) -> tuple[float, list[dict[str, Any]]]:
    """Starts children, releases them together, and returns the wall time until the last ends."""
    children = [Child(kind, a, env) for a in args]
    for child in children:
        child.wait_ready()
    started = time.perf_counter()
    for child in children:
        child.go()
    results = [child.result() for child in children]
    return time.perf_counter() - started, results


def run_child(kind: str, args: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    _, results = run_children(kind, [args], env)
    return results[0]


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value
