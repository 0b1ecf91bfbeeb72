"""The real `scopewatch serve` process over HTTP: what an operator runs, not a test client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import requests

from service.intake.signature import sign
from tests import processes
from tests.support import ROOT, SECRET, app_settings, fixture_body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stream = proc.stderr or proc.stdout
            raise AssertionError(f"server exited: {stream.read().decode() if stream else ''}")
        try:
            requests.get(url + "/healthz", timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise AssertionError("server did not come up")


def test_scopewatch_serve_takes_a_signed_delivery_and_never_logs_the_token(sqlite_url):
    port = free_port()
    env = {
        **os.environ,
        "SCOPEWATCH_DATABASE_URL": sqlite_url,
        "SCOPEWATCH_WEBHOOK_SECRET": SECRET,
        "SCOPEWATCH_MAPPINGS": app_settings(sqlite_url)["mappings"],
    }
    proc = processes.start(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, proc)
        body = json.dumps(fixture_body("cloud_issue_created")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign(SECRET, body),
            "X-Atlassian-Webhook-Identifier": "serve-1",
        }
        first = requests.post(base + "/webhooks/jira", data=body, headers=headers, timeout=5)
        again = requests.post(base + "/webhooks/jira", data=body, headers=headers, timeout=5)
        by_token = requests.post(
            base + f"/webhooks/jira?token={SECRET}",
            timeout=5,
            data=json.dumps(fixture_body("cloud_issue_deleted")).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert (first.status_code, again.status_code, by_token.status_code) == (202, 200, 202)
        stats = subprocess.run(
            [sys.executable, "-m", "service.cli", "inbox", "stats", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
        )
        counts = json.loads(stats.stdout)
        assert (counts["pending"], counts["duplicates"]) == (2, 1)
    finally:
        _, err = processes.stop(proc)
    assert SECRET not in err.decode()
    assert "POST /webhooks/jira" in err.decode()
