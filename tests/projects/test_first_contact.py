"""First contact, end to end: a Jira with months of history, `scopewatch run` as a real process.

The sandbox Jira (its seed runs from August to November 2026, with scope added after each project's
baseline) sends signed webhooks to a `scopewatch run` process, which mails an SMTP server on
loopback. The process's wall clock is moved with time-machine (`tests/shifted/sitecustomize.py`,
`SCOPEWATCH_SHIFT_CLOCK_TO`) to Monday 23 November 2026, 08:30 in Berlin: half an hour after ACME's
digest for week 47 was due.

In observe mode scopewatch writes nothing to Jira and mails no client; the PM gets a preview, and
`project status` lists every write waiting. `project go-live` lets the writes out, each once, and
the week due goes to the client. Restarted a week later, it sends that week's digest only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests

from service.sandbox import SandboxServer
from tests import processes
from tests.jira.jira_site import JiraSite
from tests.reliability.harness import free_port
from tests.smtp_sink import ScriptedSink, running_sink
from tests.support import ROOT, SECRET

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # Monday, 08:30 in Berlin
CLIENT, PM = "pm@acme.example", "pm@agency.example"
WRITES = ("PUT", "POST", "DELETE")


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def sink() -> Iterator[tuple[ScriptedSink, int]]:
    with running_sink() as (handler, port):
        yield handler, port


class Installation:
    """One agency's scopewatch: its database, settings, and processes on a moved clock."""

    def __init__(self, tmp_path: Path, jira_url: str, smtp_port: int, web_port: int) -> None:
        self.tmp_path, self.web_port = tmp_path, web_port
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEWATCH_")}
        self.env = {
            **env,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "shifted"), str(ROOT)]),
            "SCOPEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'agency.db'}",
            "SCOPEWATCH_MAPPINGS": str(ROOT / "mappings" / "sandbox.toml"),
            "SCOPEWATCH_WEBHOOK_SECRET": SECRET,
            "SCOPEWATCH_JIRA_URL": jira_url,
            "SCOPEWATCH_JIRA_EMAIL": "sandbox@example.com",
            "SCOPEWATCH_JIRA_TOKEN": "sandbox-token",
            "SCOPEWATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SCOPEWATCH_MAIL_FROM": "Scopewatch <digest@agency.example>",
            "SCOPEWATCH_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        }

    def at(self, moment: datetime) -> dict[str, str]:
        # A fresh destination for each process: no offset inherited from a shifted test run.
        return {**self.env, "SCOPEWATCH_SHIFT_CLOCK_TO": moment.isoformat()}

    def cli(self, args: list[str], moment: datetime) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "scopewatch"), *args],
            env=self.at(moment),
            cwd=self.tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    @contextmanager
    def running(self, moment: datetime, name: str) -> Iterator[None]:
        """`scopewatch run` with its clock at `moment` (ticking); logs to a file, not a pipe."""
        with open(self.tmp_path / f"{name}.log", "w") as log:
            with processes.running(
                [str(BIN / "scopewatch"), "run", "--port", str(self.web_port)],
                env=self.at(moment),
                cwd=self.tmp_path,
                stdout=log,
                stderr=log,
            ) as proc:  # its own process group: ended with all it started
                wait_for(f"scopewatch run ({name}) to answer", self._up(proc), timeout=60)
                yield

    def _up(self, proc: subprocess.Popen[Any]) -> Callable[[], bool]:
        def check() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"scopewatch run exited with {proc.returncode}")
            try:
                url = f"http://127.0.0.1:{self.web_port}/healthz"
                return requests.get(url, timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        return check


def jira_writes(site: JiraSite) -> list[str]:
    """Calls that changed an issue in Jira (the sandbox's request log), as 'METHOD path'."""
    return [
        f"{entry['method']} {entry['path']}"
        for entry in site.log()
        if entry["method"] in WRITES and "/issue/" in entry["path"]
    ]


def client_weeks(sink: ScriptedSink) -> list[str]:
    """The digests the client got, by the week in their subject."""
    found = []
    for message in sink.messages():
        if CLIENT in str(message["To"]):
            found.append(str(message["Subject"]).split(":")[0])
    return found


def previews(sink: ScriptedSink) -> list[EmailMessage]:
    return [m for m in sink.messages() if str(m["Subject"]).startswith("[Preview] [ACME]")]


def test_first_contact_observes_then_goes_live_once_and_sends_only_the_week_due(
    tmp_path: Path, sink: tuple[ScriptedSink, int]
) -> None:
    handler, smtp_port = sink
    web_port = free_port()
    with SandboxServer(
        webhook_url=f"http://127.0.0.1:{web_port}/webhooks/jira", webhook_secret=SECRET
    ) as sandbox:
        site = JiraSite(sandbox.url)
        site.http.post(f"{sandbox.url}/_sandbox/clock", json={"now": T0.isoformat()})
        site.clear_log()
        agency = Installation(tmp_path, sandbox.url, smtp_port, web_port)

        # 1. The first run: the mirror fills from months of history; nothing reaches Jira or
        #    the client, and the PM gets a preview of the week due.
        with agency.running(T0, "observe"):
            [preview] = wait_for("the PM's preview", lambda: previews(handler))
            shown = agency.cli(["project", "status", "ACME", "--json"], T0 + timedelta(minutes=1))
        assert shown.returncode == 0, shown.stderr
        status = json.loads(shown.stdout)
        assert str(preview["To"]) == PM
        assert client_weeks(handler) == []
        assert jira_writes(site) == []
        assert status["mode"] == "observe" and status["mirror"]["caught_up"] is True
        waiting = {w["issue"]: w for w in status["writes_waiting"]}
        assert {"ACME-27", "ACME-31"} <= set(waiting)
        assert all(w["labels_add"] == ["scope-change"] for w in waiting.values())
        assert all("[scopewatch change" in w["comment"] for w in waiting.values())
        assert [(d["week"], d["what"]) for d in status["digests"]] == [("2026-W47", "preview")]

        # 2. Go live: each waiting write goes to Jira once, and the week due goes to the client.
        live = agency.cli(
            ["project", "go-live", "ACME", "--by", "alice"], T0 + timedelta(minutes=5)
        )
        assert live.returncode == 0, live.stderr
        with agency.running(T0 + timedelta(minutes=6), "live"):
            wait_for("the write-backs", lambda: len(_labelled(site, waiting)) == len(waiting))
            wait_for("the client's digest", lambda: client_weeks(handler))
            shown = agency.cli(["project", "status", "ACME", "--json"], T0 + timedelta(minutes=8))
        status = json.loads(shown.stdout)
        assert status["writes_waiting"] == []
        assert status["mode_changes"][-1]["by"] == "alice"
        for key in waiting:
            assert len([c for c in site.comments(key) if "[scopewatch change" in c]) == 1, key
        comment_posts = [w for w in jira_writes(site) if w.startswith("POST") and "comment" in w]
        assert len(comment_posts) == len(waiting)
        assert not any("BETA" in w for w in jira_writes(site))  # BETA is still observed
        assert client_weeks(handler) == ["[ACME] Week 47"]

        # 3. A week later scopewatch starts again: it sends that week's digest, and only it.
        week_later = T0 + timedelta(days=7)
        site.http.post(f"{sandbox.url}/_sandbox/clock", json={"now": week_later.isoformat()})
        with agency.running(week_later, "restart"):
            wait_for("week 48's digest", lambda: len(client_weeks(handler)) == 2)
            shown = agency.cli(["project", "status", "ACME", "--json"], week_later)
        assert client_weeks(handler) == ["[ACME] Week 47", "[ACME] Week 48"]
        sent = [(d["week"], d["what"]) for d in json.loads(shown.stdout)["digests"]]
        assert sent == [("2026-W48", "sent"), ("2026-W47", "sent"), ("2026-W47", "preview")]


def _labelled(site: JiraSite, keys: dict[str, Any]) -> list[str]:
    return [
        key for key in keys if "scope-change" in (site.issue(key)["fields"].get("labels") or [])
    ]
