"""Every operator mistake is one line: the real `scopewatch` script, one row per mistake and place.

Each row runs the installed console script in a subprocess, as an operator would, and asserts what
the operator sees: a non-zero exit, exactly one line on stderr naming the problem (one per problem
for a mapping file), no traceback, and never a password. Jira's refusals come from the sandbox (its
strict login and its fault control), "not Jira" from a plain web server, and "does not answer"
from a closed port on 127.0.0.1 with the give-up bound shortened by its setting.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.sandbox import SandboxServer
from service.store.engine import make_engine, reachable
from service.store.migrate import upgrade
from tests.conftest import PG_SERVER
from tests.support import ROOT

SCOPEWATCH = Path(sys.executable).parent / "scopewatch"
MAPPING = str(ROOT / "mappings" / "sandbox.toml")
LOGIN = ("sandbox@example.com", "sandbox-token")
PASSWORD = "pw-n0t-printed-7f3a"  # in every database URL below that carries a password

# Every command that opens the database, with the arguments it needs to get that far.
DB_COMMANDS = [
    ["serve", "--port", "0"],
    ["worker", "--once"],
    ["baseline", "list", "--project", "ACME"],
    ["baseline", "capture", "--project", "ACME"],
    ["reconcile", "--project", "ACME"],
    ["inbox", "stats"],
    ["inbox", "import", "{events}"],
    ["digest", "build", "--project", "ACME"],
    ["digest", "send", "--project", "ACME"],
    ["export", "scope-changes", "--project", "ACME"],
]
# A few of them for the mistakes every command meets on the same path (settings, the engine).
SOME_DB_COMMANDS = [
    ["db", "upgrade"],
    ["worker", "--once"],
    ["baseline", "list", "--project", "ACME"],
]
JIRA_COMMANDS = [
    ["mappings", "check"],
    ["baseline", "capture", "--project", "ACME"],
    ["reconcile", "--project", "ACME"],
]


@dataclass
class World:
    """What the rows point scopewatch at; built once for the module."""

    tmp: Path
    migrated: str  # a migrated SQLite database
    sandbox: str  # the sandbox Jira, strict about its login
    not_jira: str  # a web server that is not Jira
    closed: int  # a port on 127.0.0.1 nobody listens on
    pg: str | None  # the test PostgreSQL server, when one answers
    empty_pg: str | None = None  # a PostgreSQL database that was never migrated
    made: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    env: dict[str, str]
    says: list[str]  # words the one line must hold
    fault: str | None = None  # a sandbox refusal for serverInfo
    needs_pg: bool = False


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _NotJira(http.server.BaseHTTPRequestHandler):
    """A web server that is not Jira: every path is a friendly HTML page."""

    def do_GET(self) -> None:
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("operator")
    migrated = f"sqlite:///{tmp / 'migrated.db'}"
    engine = make_engine(migrated)
    upgrade(engine)
    engine.dispose()
    (tmp / "events.jsonl").write_text('{"webhookEvent": "jira:issue_updated"}\n')
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotJira)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    pg = PG_SERVER if reachable(PG_SERVER) else None
    with SandboxServer(strict=True) as sandbox:
        found = World(
            tmp=tmp,
            migrated=migrated,
            sandbox=sandbox.url,
            not_jira=f"http://127.0.0.1:{web.server_port}",
            closed=closed_port(),
            pg=pg,
        )
        if pg is not None:
            found.empty_pg = _create_database(pg, found)
        yield found
        if pg is not None:
            _drop_databases(pg, found.made)
    web.shutdown()
    web.server_close()
    thread.join(timeout=10)


def _create_database(server: str, world: World) -> str:
    name = f"scopewatch_unmigrated_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    world.made.append(name)
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _drop_databases(server: str, names: list[str]) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- the table ------------------------------------------------------------------------------------

UNMIGRATED = "{tmp}/never-migrated.db"
NO_MIGRATION = ["not migrated", "scopewatch db upgrade"]


def _pg(world: World, **parts: object) -> str:
    assert world.pg is not None
    return make_url(world.pg).set(**parts).render_as_string(hide_password=False)  # type: ignore[arg-type]


def cases() -> list[Case]:
    rows: list[Case] = []

    def db(name: str, url: str, says: list[str], commands: list[list[str]], pg: bool = False):
        for args in commands:
            env = {"SCOPEWATCH_DATABASE_URL": url}
            rows.append(Case(f"{name}-{'-'.join(args[:2])}", args, env, says, needs_pg=pg))

    db(
        "malformed-url",
        "sqlite://tmp/x.db",
        ["SCOPEWATCH_DATABASE_URL", "three slashes"],
        SOME_DB_COMMANDS,
    )
    db("empty-url", "", ["SCOPEWATCH_DATABASE_URL", "is empty"], SOME_DB_COMMANDS)
    db(
        "postgres-driver",
        f"postgresql://app:{PASSWORD}@db.internal/sw",
        ["SCOPEWATCH_DATABASE_URL", "postgresql+psycopg://"],
        SOME_DB_COMMANDS[:1],
    )
    db(
        "postgres-away",
        f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:{{closed}}/sw",
        ["PostgreSQL at postgresql+psycopg://app:***@127.0.0.1", "does not answer"],
        SOME_DB_COMMANDS,
    )
    db(
        "no-role",
        "{pg_no_role}",
        ["no role 'nobody_here'", "SCOPEWATCH_DATABASE_URL"],
        SOME_DB_COMMANDS,
        pg=True,
    )
    # The server trusts loopback, so no password is ever refused here: the row shows instead that
    # the line built from a URL with a password masks it.
    db(
        "no-database",
        "{pg_no_database}",
        ["no database 'scopewatch_nowhere'", ":***@", "createdb"],
        SOME_DB_COMMANDS,
        pg=True,
    )
    db(
        "sqlite-folder",
        "sqlite:///{tmp}/events.jsonl/x.db",
        ["{tmp}/events.jsonl/x.db", "SCOPEWATCH_DATABASE_URL"],
        SOME_DB_COMMANDS[1:],
    )
    db("unmigrated", f"sqlite:///{UNMIGRATED}", NO_MIGRATION, DB_COMMANDS)
    db(
        "unmigrated-pg",
        "{empty_pg}",
        NO_MIGRATION,
        [["baseline", "list", "--project", "ACME"]],
        True,
    )

    def jira(name: str, url: str, says: list[str], fault: str | None = None, **env: str):
        for args in JIRA_COMMANDS:
            full = {"SCOPEWATCH_JIRA_URL": url, **env}
            rows.append(Case(f"{name}-{'-'.join(args[:2])}", args, full, says, fault=fault))

    jira(
        "jira-401",
        "{sandbox}",
        ["refused the login (HTTP 401)", "SCOPEWATCH_JIRA_TOKEN"],
        SCOPEWATCH_JIRA_TOKEN="not-the-token",
    )
    jira("jira-403", "{sandbox}", ["refused access (HTTP 403", "SCOPEWATCH_JIRA_EMAIL"], "403")
    jira("jira-404", "{sandbox}", ["no Jira at", "HTTP 404", "SCOPEWATCH_JIRA_URL"], "404")
    jira("jira-wrong-path", "{sandbox}/jira", ["no Jira at", "/jira", "SCOPEWATCH_JIRA_URL"])
    jira("not-jira", "{not_jira}", ["is not a Jira site", "SCOPEWATCH_JIRA_URL"])
    jira(
        "jira-away",
        "http://127.0.0.1:{closed}",
        ["gave up on Jira after 1 s", "127.0.0.1:{closed}", "worker keeps retrying"],
        SCOPEWATCH_JIRA_GIVE_UP="1",
    )

    for args in (
        ["digest", "build", "--project", "ACME", "--out", "{tmp}"],
        ["export", "scope-changes", "--project", "ACME", "--out", "{tmp}"],
    ):
        rows.append(Case(f"out-folder-{args[0]}", args, {}, ["--out {tmp}", "is a folder"]))
    for args in (
        ["digest", "build", "--project", "ACME", "--out", "{tmp}/events.jsonl/digest.json"],
        ["export", "scope-changes", "--project", "ACME", "--out", "{tmp}/events.jsonl/x.csv"],
    ):
        says = ["--out {tmp}/events.jsonl/", "cannot be made", "is a file"]
        rows.append(Case(f"out-unwritable-{args[0]}", args, {}, says))
    rows.append(Case("out-demo-file", ["demo", "--out", "{tmp}/events.jsonl"], {}, ["is a file"]))
    return rows


CASES = cases()


def fill(value: str, world: World) -> str:
    if "{pg_" in value or "{empty_pg}" in value:
        if world.pg is None:
            pytest.skip("PostgreSQL not reachable")
        value = value.format(
            pg_no_role=_pg(world, username="nobody_here", password=PASSWORD),
            pg_no_database=_pg(world, database="scopewatch_nowhere", password=PASSWORD),
            empty_pg=world.empty_pg,
        )
    return value.format(
        tmp=world.tmp,
        sandbox=world.sandbox,
        not_jira=world.not_jira,
        closed=world.closed,
        events=world.tmp / "events.jsonl",
    )


def run_scopewatch(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEWATCH_")}
    return subprocess.run(
        [str(SCOPEWATCH), *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_an_operator_mistake_is_one_line(case: Case, world: World) -> None:
    if case.needs_pg and world.pg is None:
        pytest.skip("PostgreSQL not reachable")
    env = {
        "SCOPEWATCH_DATABASE_URL": world.migrated,
        "SCOPEWATCH_MAPPINGS": MAPPING,
        "SCOPEWATCH_JIRA_URL": world.sandbox,
        "SCOPEWATCH_JIRA_EMAIL": LOGIN[0],
        "SCOPEWATCH_JIRA_TOKEN": LOGIN[1],
        "SCOPEWATCH_SMTP_URL": f"smtp://127.0.0.1:{world.closed}",
        "SCOPEWATCH_MAIL_FROM": "pm@agency.example",
        **{name: fill(value, world) for name, value in case.env.items()},
    }
    if case.fault:
        spec = {"mode": case.fault, "count": 1000, "paths": "serverInfo"}
        requests.post(f"{world.sandbox}/_sandbox/faults", json=spec, timeout=10).raise_for_status()
    try:
        done = run_scopewatch([fill(a, world) for a in case.args], env, world.tmp)
    finally:
        requests.delete(f"{world.sandbox}/_sandbox/faults", timeout=10).raise_for_status()

    lines = done.stderr.splitlines()
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("scopewatch: ")
    for words in case.says:
        assert fill(words, world) in lines[0]


def test_the_same_commands_work_once_the_mistake_is_fixed(world: World) -> None:
    """The rows above fail for their mistake alone: with the mistake fixed, each command runs."""
    env = {
        "SCOPEWATCH_DATABASE_URL": world.migrated,
        "SCOPEWATCH_MAPPINGS": MAPPING,
        "SCOPEWATCH_JIRA_URL": world.sandbox,
        "SCOPEWATCH_JIRA_EMAIL": LOGIN[0],
        "SCOPEWATCH_JIRA_TOKEN": LOGIN[1],
    }
    out = world.tmp / "out" / "digest.json"
    for args in (
        ["mappings", "check"],
        ["reconcile", "--project", "ACME"],
        ["baseline", "list", "--project", "ACME"],
        ["digest", "build", "--project", "ACME", "--out", str(out)],
    ):
        done = run_scopewatch(args, env, world.tmp)
        assert done.returncode == 0, (args, done.stderr)
    assert out.exists()


MAPPING_MISTAKES = """\
[[projects]]
key = "ACME"
client = "Acme Corp"
currency = "EUR"
budget = "lots"
start = 2026-09-01
end = 2026-12-31
hours_per_pont = 6
weekly_capacity_hours = 40
default_rate = 80
"""


def test_mappings_check_names_every_problem_one_line_each(world: World) -> None:
    path = world.tmp / "mistakes.toml"
    path.write_text(MAPPING_MISTAKES, encoding="utf-8")

    done = run_scopewatch(["mappings", "check", "--file", str(path)], {}, world.tmp)

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == [f"{path}:5", f"{path}:8"], done.stderr
    assert "projects[0].budget" in lines[0] and "projects[0].hours_per_pont" in lines[1]


def test_an_impossible_date_names_its_file_line_and_key(world: World) -> None:
    path = world.tmp / "february.toml"
    path.write_text(MAPPING_MISTAKES.replace("2026-09-01", "2026-02-30"), encoding="utf-8")

    done = run_scopewatch(["mappings", "check", "--file", str(path)], {}, world.tmp)

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"scopewatch: {path}:6: projects[0].start: not a real date: 2026-02-30 "
        "(day is out of range for month)"
    ]


@pytest.mark.slow
def test_a_server_that_refuses_the_password_gets_one_line_without_it(tmp_path: Path) -> None:
    """A private cluster that asks for a password over TCP (SCRAM), as production servers do."""
    from tests.reliability.harness import PG_BIN, PrivatePostgres

    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    server = PrivatePostgres(password="the-right-one").create()
    try:
        wrong = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{server.port}/postgres"
        done = run_scopewatch(
            ["inbox", "stats"],
            {"SCOPEWATCH_DATABASE_URL": wrong, "SCOPEWATCH_MAPPINGS": MAPPING},
            tmp_path,
        )
    finally:
        server.destroy()
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and PASSWORD not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [
        f"scopewatch: PostgreSQL at postgresql+psycopg://postgres:***@127.0.0.1:{server.port}"
        "/postgres: the password of role 'postgres' was refused: fix it in "
        "SCOPEWATCH_DATABASE_URL"
    ]


def test_a_refused_password_is_named_but_never_printed() -> None:
    """The driver's refusal, word for word as libpq gives it for a remote server's log line."""
    from sqlalchemy.exc import OperationalError

    from service.store.problems import database_problem

    url = f"postgresql+psycopg://app:{PASSWORD}@db.internal:5432/scopewatch"
    refusal = Exception(
        'connection failed: connection to server at "10.0.0.7", port 5432 failed: '
        'FATAL:  password authentication failed for user "app"'
    )

    line = database_problem(OperationalError("connect", {}, refusal), url)

    assert line == (
        "PostgreSQL at postgresql+psycopg://app:***@db.internal:5432/scopewatch: the password of "
        "role 'app' was refused: fix it in SCOPEWATCH_DATABASE_URL"
    )
