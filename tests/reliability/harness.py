"""Helpers of the reliability suite: one set of secrets, the log corpus, real processes.

Every test here uses the same secrets (`SECRETS`), and every log line of the run — records of the
test process and the stderr of every subprocess — lands in `CORPUS`, so that case 10 can prove no
secret was ever written anywhere (it scans what its process collected). Fixtures and the
figures report live in `conftest.py`.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from service.intake.signature import sign
from tests import processes
from tests.support import ADMIN, ROOT, SECRET, fixture_body, go_live

JIRA_EMAIL = "scopewatch-bot@agency.example"
JIRA_TOKEN = "rel-jira-token-Q3v8tN1x"
SMTP_USER = "digest-sender"
SMTP_PASSWORD = "rel-smtp-pass-Z7k2wP0c"
# Everything that must never reach a log, by name (the admin token and webhook secret are the
# ones tests/support.py gives every app).
SECRETS: dict[str, str] = {
    "webhook secret": SECRET,
    "admin token": ADMIN,
    "Jira token": JIRA_TOKEN,
    "SMTP password": SMTP_PASSWORD,
}
MAPPINGS = str(ROOT / "mappings" / "sandbox.toml")


# --- the log corpus (case 10) -----------------------------------------------------------------


@dataclass
class LogCorpus:
    """Every log line of the reliability run: in-process records and subprocess stderr files."""

    lines: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    directory: Path | None = None  # where subprocess logs go; pytest keeps the last few runs
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    def text(self) -> str:
        parts = list(self.lines)
        for path in self.files:
            if path.exists():
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(parts)


CORPUS = LogCorpus()


def leak_forms(secret: str) -> list[str]:
    """A secret as it could appear in a log: plain, URL-quoted, or inside a Basic auth header."""
    forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
    basic = base64.b64encode(f"{JIRA_EMAIL}:{secret}".encode()).decode()
    forms.add(basic)
    return sorted(forms)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_env(db_url: str, *, jira_url: str | None = None, **extra: str) -> dict[str, str]:
    """A scopewatch process's environment holding every secret of the run, as production would."""
    env = {
        **os.environ,
        "SCOPEWATCH_DATABASE_URL": db_url,
        "SCOPEWATCH_MAPPINGS": MAPPINGS,
        "SCOPEWATCH_WEBHOOK_SECRET": SECRET,
        "SCOPEWATCH_ADMIN_TOKEN": ADMIN,
        "SCOPEWATCH_JIRA_EMAIL": JIRA_EMAIL,
        "SCOPEWATCH_JIRA_TOKEN": JIRA_TOKEN,
        # Nothing listens there: a digest sent by mistake fails instead of reaching anyone.
        "SCOPEWATCH_SMTP_URL": f"smtp+starttls://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:9",
        "SCOPEWATCH_MAIL_FROM": "digest@agency.example",
        **extra,
    }
    if jira_url:
        env["SCOPEWATCH_JIRA_URL"] = jira_url
    else:
        env.pop("SCOPEWATCH_JIRA_URL", None)
    return env


def stderr_file(name: str) -> Path:
    """A new file for a subprocess's stderr, in the run's log folder (see conftest.py)."""
    directory = CORPUS.directory or Path(tempfile.gettempdir()) / "scopewatch-reliability-logs"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{uuid.uuid4().hex[:8]}.log"
    CORPUS.files.append(path)
    return path


def spawn(
    args: Sequence[str], env: dict[str, str], name: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """`scopewatch <args>` in the background, in its own process group (`processes.stop` ends
    it); its stderr file is kept for the secrets scan."""
    path = stderr_file(name)
    with path.open("wb") as err:
        proc = processes.start(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return proc, path


def run_cli(
    args: Sequence[str], env: dict[str, str], *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`scopewatch <args>` to the end; both streams are kept for the secrets scan."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    CORPUS.add(f"$ scopewatch {' '.join(args)}\n{done.stdout}\n{done.stderr}")
    return done


class ServeProcess:
    """A real `scopewatch serve` on a free loopback port: what an operator runs."""

    def __init__(self, db_url: str, **extra_env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = service_env(db_url, **extra_env)
        self.log = stderr_file("serve")
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, whatever proxy the environment names

    def start(self, timeout: float = 20) -> ServeProcess:
        with self.log.open("wb") as err:
            self.proc = processes.start(
                [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"scopewatch serve exited: {self.stderr()}")
            try:
                if self.http.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("scopewatch serve did not come up")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.http.close()
        if self.proc is not None:
            processes.stop(self.proc)

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --- Jira-shaped bodies and a raw HTTP poster -------------------------------------------------


def worklog_event(n: int) -> dict[str, Any]:
    """A distinct `worklog_created` body: the worker applies it without the scope engine."""
    body = copy.deepcopy(fixture_body("cloud_worklog_created"))
    body["timestamp"] += n
    body["worklog"]["id"] = str(500_000 + n)
    body["worklog"]["self"] = body["worklog"]["self"].replace("30001", str(500_000 + n))
    return body


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery exactly as Jira would (re)send it: same id, same bytes."""

    delivery_id: str
    body: bytes

    @classmethod
    def of(cls, document: dict[str, Any]) -> Delivery:
        return cls(uuid.uuid4().hex, json.dumps(document).encode())

    def headers(self, secret: str = SECRET) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Atlassian-Webhook-Identifier": self.delivery_id,
            "X-Hub-Signature": sign(secret, self.body),
        }


class RawHttp:
    """A keep-alive HTTP/1.1 client that sends header bytes as given (no Latin-1 check).

    Several times cheaper per request than `requests`, which matters at 10,000 requests; a
    connection the server closed (after a 413, say) is reopened once, a second failure is the
    server's fault.
    """

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str | bytes] | None = None,
        *,
        chunked: bool = False,
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                data: Any = iter([body or b""]) if chunked else body
                self._conn.request(
                    method, path, body=data, headers=headers or {}, encode_chunked=chunked
                )
                answer = self._conn.getresponse()
                return answer.status, answer.read()
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                if attempt == 2:
                    # A server may answer a malformed head (a control character in a header)
                    # with 400 and close before the body arrives: http.client then fails on
                    # sending the body and never reads the answer. Read it as curl would.
                    return self._answer_despite_close(method, path, body, headers or {}, chunked)
        raise AssertionError("unreachable")

    def _answer_despite_close(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str | bytes],
        chunked: bool,
    ) -> tuple[int, bytes]:
        body = body or b""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        for name, value in headers.items():
            head += name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
            head += b"\r\n"
        if chunked:
            head += b"Transfer-Encoding: chunked\r\n"
            body = (
                (f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n") if body else b"0\r\n\r\n"
            )
        else:
            head += f"Content-Length: {len(body)}\r\n".encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as sock:
            try:
                sock.sendall(head + b"Connection: close\r\n\r\n" + body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server has answered already: read what it said
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        if not answer.startswith(b"HTTP/"):
            raise ConnectionError("the server closed the connection without an answer")
        return int(answer.split(b" ", 2)[1]), answer.partition(b"\r\n\r\n")[2]

    def close(self) -> None:
        self._conn.close()


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 5) -> int:
    """Sends bytes no HTTP library would (non-ASCII headers) and returns the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + b"Content-Length: " + str(len(body)).encode() + b"\r\n")
        sock.sendall(b"Connection: close\r\n\r\n" + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


# --- many short-lived `scopewatch worker` processes, cheaply -------------------------------------

_ZYGOTE = """
import os, signal, sys
from service.cli import main
import service.mirror.worker, service.outbox.queue, service.jira.client
import service.scope.engine, service.mirror.events
# Children are reaped by the kernel: the test kills them by pid and never waits for them.
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # The pipe on stdout is how the parent reports pids: a child must not write to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        sys.stdout = open(os.devnull, "w")
        try:
            main(line.split(), prog_name="scopewatch")
        except SystemExit as exc:
            os._exit(exc.code if isinstance(exc.code, int) else 1)
        os._exit(0)
    print(pid, flush=True)
"""


class WorkerFactory:
    """Starts `scopewatch <args>` processes by forking a parent that has imported everything.

    A fresh interpreter spends over a second importing before the worker does anything; 50
    kill-and-restart rounds would spend a minute in imports. Each child here is a real process
    running the CLI's own `main`, with the same environment, so `kill -9` meets the real thing.
    """

    def __init__(self, env: dict[str, str], name: str = "workers") -> None:
        self.log = stderr_file(name)
        with self.log.open("wb") as err:
            self.proc = processes.start(
                [sys.executable, "-c", _ZYGOTE],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.running: set[int] = set()

    def start(self, *args: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(" ".join(args) + "\n")
        self.proc.stdin.flush()
        pid = int(self.proc.stdout.readline())
        self.running.add(pid)
        return pid

    def kill_9(self, pid: int) -> None:
        kill_9(pid)
        self.running.discard(pid)

    def _ours(self, pid: int) -> bool:
        """Still a child of our parent (and not a stranger that reused the pid)."""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid

    def close(self) -> None:
        # A test that failed between start and kill must not leave a worker running on.
        for pid in sorted(self.running):
            if self._ours(pid):
                kill_9(pid)
        self.running.clear()
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the parent's loop ends, and with it the parent
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        processes.signal_group(self.proc, signal.SIGKILL)  # forked workers share its group
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def kill_9(pid: int, timeout: float = 5) -> None:
    """SIGKILL, then wait until the process is really gone."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} survived SIGKILL")


# --- the Jira side: a live intake, the sandbox sending it webhooks, and what Jira ended up with ---

WRITEBACK_MARKER = "[scopewatch change "
# (method, path segments, segment after the issue) -> the write it is
WRITE_KINDS = {
    ("PUT", 6, ""): "edit",
    ("POST", 7, "comment"): "comment",
    ("PUT", 8, "comment"): "comment edit",
    ("PUT", 8, "properties"): "property",
}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LiveApp:
    """scopewatch's app on a real loopback port in a thread: the sandbox's webhooks land here."""

    def __init__(self, db_url: str) -> None:
        from service import create_app
        from tests.support import app_settings

        self.app = create_app(app_settings(db_url))
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.webhook_url = self.url + "/webhooks/jira"
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.02), name="live-app", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.app.extensions["scopewatch"].engine.dispose()


@dataclass(frozen=True)
class Effects:
    """What Jira shows of scopewatch's write-back on one issue."""

    scope_labels: int  # how many times the scope-change label is on the issue
    marker_comments: int  # comments carrying a write-back marker
    comments: int
    property_version: int | None  # `scopewatch.impact` version, None when absent
    hours: Any
    cost: Any


class JiraWorld:
    """The sandbox Jira wired to a live scopewatch intake, and the database behind it.

    Issues created in the sandbox reach the inbox as signed webhooks, exactly as from Jira Cloud;
    `settle` then runs the worker (inbox, scope engine, outbox) until nothing moves any more.
    """

    def __init__(self, db_url: str) -> None:
        from service.sandbox import SandboxServer, load_seed

        self.db_url = db_url
        self.live = LiveApp(db_url)
        self.engine = self.live.app.extensions["scopewatch"].engine
        go_live(self.engine, "ACME", "BETA")  # this world is about a live project's writes
        self.sandbox = SandboxServer(
            load_seed(),
            webhook_url=self.live.webhook_url,
            webhook_secret=SECRET,
            webhook_retry_delays=(0.2, 0.5, 1.0),
        ).start()
        self.url = self.sandbox.url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.auth = (JIRA_EMAIL, JIRA_TOKEN)

    # --- driving Jira -------------------------------------------------------------------------

    def create_issues(self, count: int, summary: str = "New scope") -> list[str]:
        keys = []
        for n in range(count):
            answer = self.http.post(
                f"{self.url}/rest/api/2/issue",
                json={
                    "fields": {
                        "project": {"key": "ACME"},
                        "issuetype": {"name": "Story"},
                        "summary": f"{summary} {n + 1}",
                    }
                },
            )
            assert answer.status_code == 201, answer.text
            keys.append(answer.json()["key"])
        self.sandbox.wait_for_webhooks()
        return keys

    def fault(self, **spec: Any) -> None:
        answer = self.http.post(f"{self.url}/_sandbox/faults", json=spec)
        assert answer.status_code == 200, answer.text

    def clear_faults(self) -> None:
        self.http.delete(f"{self.url}/_sandbox/faults").raise_for_status()

    def requests_log(self) -> list[dict[str, Any]]:
        """The sandbox's REST request log, read in-process (cheap enough to poll)."""
        return self.sandbox.sandbox.requests.entries()

    def client(self, **options: Any) -> Any:
        from mappings import load_mapping
        from service.jira.client import JiraClient

        options = {"max_wait": 30.0, "backoff": 0.1, "backoff_max": 1.0, **options}
        return JiraClient(self.url, JIRA_EMAIL, JIRA_TOKEN, load_mapping(MAPPINGS), **options)

    # --- running scopewatch -------------------------------------------------------------------

    def settle(self, client: Any, *, now: Any = None, rounds: int = 20) -> None:
        """Worker rounds (inbox, then due outbox jobs) until Jira and we are both quiet."""
        from mappings import load_mapping
        from service.mirror.worker import drain_inbox
        from service.outbox.queue import run_due
        from service.scope.writeback import KINDS
        from service.store.clock import system_clock

        mapping = load_mapping(MAPPINGS)
        for _ in range(rounds):
            self.sandbox.wait_for_webhooks()
            handled = drain_inbox(self.engine, mapping).handled
            completed = run_due(self.engine, client, KINDS, now=now or system_clock())
            self.sandbox.wait_for_webhooks()
            if not handled and not completed and not self.pending_inbox():
                return
        raise AssertionError("scopewatch and the sandbox did not settle")

    def pending_inbox(self) -> int:
        from sqlalchemy import func, select

        from service.store import schema

        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(schema.inbox)
                    .where(schema.inbox.c.status == "pending")
                ).scalar_one()
            )

    def table(self, name: str) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from service.store import schema

        with self.engine.connect() as conn:
            table = getattr(schema, name)
            return [dict(row) for row in conn.execute(select(table)).mappings()]

    def expire_leases(self) -> int:
        """Time-warp: every outbox lease has run out (as it would, minutes after a crash)."""
        from sqlalchemy import update

        from service.store import schema
        from service.store.clock import system_clock

        outbox = schema.outbox
        with self.engine.begin() as conn:
            expired = conn.execute(
                update(outbox)
                .where(outbox.c.status == "pending", outbox.c.lease_until.is_not(None))
                .values(lease_until=system_clock() - timedelta(seconds=1))
            )
        return int(expired.rowcount)

    # --- what Jira ended up with --------------------------------------------------------------

    def effects(self, key: str) -> Effects:
        issue = self.http.get(
            f"{self.url}/rest/api/2/issue/{key}",
            params={"fields": "labels,customfield_10150,customfield_10151"},
        ).json()["fields"]
        comments = self.http.get(f"{self.url}/rest/api/2/issue/{key}/comment").json()["comments"]
        prop = self.http.get(f"{self.url}/rest/api/2/issue/{key}/properties/scopewatch.impact")
        version = prop.json()["value"]["version"] if prop.status_code == 200 else None
        return Effects(
            scope_labels=issue["labels"].count("scope-change"),
            marker_comments=sum(WRITEBACK_MARKER in str(c["body"]) for c in comments),
            comments=len(comments),
            property_version=version,
            hours=issue.get("customfield_10150"),
            cost=issue.get("customfield_10151"),
        )

    def writes(self, key: str) -> dict[str, int]:
        """Jira's request log for one issue: how many of each write it received (by key or id)."""
        issue_id = self.http.get(f"{self.url}/rest/api/2/issue/{key}").json()["id"]
        counts: dict[str, int] = {}
        for entry in self.requests_log():
            parts = entry["path"].split("/")  # ['', 'rest', 'api', '2', 'issue', ref, ...]
            if entry["method"] == "GET" or len(parts) < 6 or parts[5] not in (key, issue_id):
                continue
            kind = WRITE_KINDS.get(
                (entry["method"], len(parts), parts[6] if len(parts) > 6 else "")
            )
            kind = kind or f"{entry['method']} {'/'.join(parts[6:])}"
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    def close(self) -> None:
        self.http.close()
        self.sandbox.stop()
        self.live.close()


# --- a private PostgreSQL that tests may stop (never the shared one on 5432) ------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(args: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(args)  # already a user that can own a cluster
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *args]
    return ["su", "postgres", "-c", " ".join(shlex.quote(a) for a in args)]


class PrivatePostgres:
    """A throw-away cluster in a temp dir on a free port, started and stopped by the test."""

    def __init__(self, password: str | None = None) -> None:
        """With `password`, connections over TCP must give it (SCRAM), as on a real server."""
        self.dir = Path(tempfile.mkdtemp(prefix="scopewatch-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.password = password
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(_as_postgres(args), capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def create(self) -> PrivatePostgres:
        auth = ["-A", "trust"]
        if self.password is not None:
            secret = self.dir / "pwfile"
            secret.write_text(self.password + "\n", encoding="utf-8")
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={secret}"]
        if os.geteuid() == 0:
            for path in (self.dir, *self.dir.iterdir()):
                shutil.chown(path, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", *auth,
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        return self.start()

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "pg.log"),
                  "-o", options, "-w", "-t", "30", "start")  # fmt: skip
        return self

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
