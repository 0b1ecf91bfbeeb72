"""What docs/operating.md promises an operator watching real server processes: logs and metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from service.intake.signature import sign
from tests import processes
from tests.service.test_serve_process import free_port, wait_until_up
from tests.support import ROOT, SECRET, fixture_body

BIN = Path(sys.executable).parent


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[dict[str, str]]:
    """Runs a server process until the block ends; then `logs["stderr"]` holds what it wrote."""
    proc = processes.start(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    logs: dict[str, str] = {}
    try:
        try:
            wait_until_up(f"http://127.0.0.1:{port}", proc, timeout=30)
        except AssertionError as exc:  # a server that never came up is not the bug under test
            raise RuntimeError(str(exc)) from None
        yield logs
    finally:
        _, err = processes.stop(proc, grace=20)
        logs["stderr"] = err.decode(errors="replace")


def base_env(db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SCOPEWATCH_DATABASE_URL": db_url,
        "SCOPEWATCH_WEBHOOK_SECRET": SECRET,
        "SCOPEWATCH_MAPPINGS": str(ROOT / "mappings" / "sandbox.toml"),
    }


def json_lines(text: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def require(condition: bool, what: str) -> None:
    """A precondition: its failure is a real failure, never the expected one of an xfail."""
    if not condition:
        raise RuntimeError(what)


def test_the_web_under_gunicorn_logs_json_lines(tmp_path):
    port = free_port()
    # Not migrated: intake cannot store the delivery, answers 503 and logs a warning.
    env = {
        **base_env(f"sqlite:///{tmp_path / 'unmigrated.db'}"),
        "SCOPEWATCH_BIND": f"127.0.0.1:{port}",
        "SCOPEWATCH_WEB_WORKERS": "1",
        "HOME": str(tmp_path),  # gunicorn keeps a control socket under it
    }
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "service:create_app()"]
    with server(command, env, port) as logs:
        answer = requests.post(
            f"http://127.0.0.1:{port}/webhooks/jira?token={SECRET}",
            data=json.dumps(fixture_body("cloud_issue_created")),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        require(answer.status_code == 503, f"intake answered {answer.status_code}, not 503")
    assert SECRET not in logs["stderr"]
    messages = [entry.get("message") for entry in json_lines(logs["stderr"])]
    assert "database unavailable for intake: OperationalError" in messages, logs["stderr"]


def test_scopewatch_run_reports_worker_time_per_event(sqlite_url):
    port = free_port()
    command = [str(BIN / "scopewatch"), "run", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with server(command, base_env(sqlite_url), port):
        body = json.dumps(fixture_body("cloud_issue_created")).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature": sign(SECRET, body)}
        posted = requests.post(f"{base}/webhooks/jira", data=body, headers=headers, timeout=10)
        require(posted.status_code == 202, f"intake answered {posted.status_code}")
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            text = requests.get(f"{base}/metrics", timeout=5).text
            if 'scopewatch_inbox_rows{status="done"} 1.0' in text:
                break
            time.sleep(0.2)
        require('scopewatch_inbox_rows{status="done"} 1.0' in text, "the worker did not run")
    count = re.search(r"^scopewatch_processing_seconds_count (\S+)$", text, re.M)
    assert count is not None and float(count.group(1)) >= 1, text
