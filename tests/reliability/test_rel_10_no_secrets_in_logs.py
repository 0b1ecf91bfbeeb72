"""Case 10: no secret in any log line of the reliability run.

Every test in this folder logs into `CORPUS` (in-process records at DEBUG for our own loggers,
INFO for libraries) and every subprocess's stderr is kept; the scan reads all that its process
collected (the run is in random order, over several workers) for the webhook secret, the admin
token, the Jira token and the SMTP password — plain, URL-quoted, base64 and inside a Basic auth
header.

So that the scan proves something in any order and on any xdist worker, it first provokes the
failures most likely to print a secret: a rejected `?token=`, wrong bearer tokens, Jira refusing
our login (in-process and from a `scopewatch worker --once`), Jira failing and dropping calls, an
SMTP URL with a password that the mailer refuses to use, and a malformed SMTP URL setting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller

from mappings import load_mapping
from service import create_app
from service.jira.client import JiraClient, JiraRejected, JiraRetryLater
from service.mailer import send_message
from service.sandbox import SandboxServer, load_seed
from service.store.clock import frozen_clock
from tests.reliability.harness import (
    CORPUS,
    JIRA_EMAIL,
    JIRA_TOKEN,
    MAPPINGS,
    SECRETS,
    SMTP_PASSWORD,
    SMTP_USER,
    free_port,
    leak_forms,
    run_cli,
    service_env,
)
from tests.support import ADMIN, NOW, SECRET, app_settings, fixture_body

MAPPING = load_mapping(MAPPINGS)


class _Accepting:
    """An SMTP server that takes anything; the mailer must refuse to log in over plain SMTP."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(_Accepting(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def strict_jira() -> Iterator[SandboxServer]:
    """A Jira that accepts only its own login: ours is refused with 401."""
    with SandboxServer(load_seed(), strict=True) as server:
        yield server


def provoke_intake_and_admin(sqlite_url: str) -> None:
    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    client = app.test_client()
    body = json.dumps(fixture_body("cloud_issue_created")).encode()
    for token in (SECRET, SECRET + "x", "wrong"):
        client.post(f"/webhooks/jira?token={token}", data=body, content_type="application/json")
    for auth in (f"Bearer {ADMIN}", f"Bearer {ADMIN}x", f"Bearer {SECRET}", f"Basic {ADMIN}"):
        client.get("/api/projects/ACME/scope-changes", headers={"Authorization": auth})
    app.extensions["scopewatch"].engine.dispose()


def provoke_jira(strict: SandboxServer) -> list[str]:
    """Jira refusing our login, failing, and dropping an answer; returns what the client raised."""
    raised = []
    refused = JiraClient(strict.url, JIRA_EMAIL, JIRA_TOKEN, MAPPING, max_wait=1, backoff=0.05)
    with pytest.raises(JiraRejected) as rejected:
        refused.get_issue("ACME-1")
    raised.append(str(rejected.value))
    with SandboxServer(load_seed()) as lenient:
        http = requests.Session()
        http.trust_env = False
        faults = f"{lenient.url}/_sandbox/faults"
        client = JiraClient(lenient.url, JIRA_EMAIL, JIRA_TOKEN, MAPPING, max_wait=1, backoff=0.05)
        http.post(faults, json={"mode": "503", "count": 50, "paths": "/issue/ACME-1"})
        with pytest.raises(JiraRetryLater) as later:
            client.get_issue("ACME-1")
        raised.append(str(later.value))
        http.post(faults, json={"mode": "drop", "count": 1, "paths": "/comment"})
        with pytest.raises(JiraRetryLater) as dropped:
            client.add_comment("ACME-2", "a comment whose answer is lost")
        raised.append(str(dropped.value))
        http.close()
    return raised


def probe_message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@agency.example", "b@acme.example", "probe"
    msg.set_content("probe")
    return msg


def provoke_all(
    sqlite_url: str,
    tmp_path: Path,
    strict_jira: SandboxServer,
    smtp_port: int,
    figures: dict[str, Any],
) -> None:
    """The failures most likely to print a secret; none of what they raise may carry one."""
    provoke_intake_and_admin(sqlite_url)
    raised = provoke_jira(strict_jira)

    # A password in a plain smtp:// URL: the mailer refuses to send it in clear, and says so.
    with_password = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{smtp_port}"
    refused = send_message(probe_message(), with_password, retries=0)
    assert not refused.ok and "password" in (refused.error or "")

    # A worker process whose Jira refuses its login, with a write-back waiting in the outbox.
    env = service_env(sqlite_url, jira_url=strict_jira.url)
    events = tmp_path / "one-event.jsonl"
    events.write_text(json.dumps(fixture_body("cloud_issue_created")) + "\n")
    store = run_cli(["inbox", "import", str(events)], env)
    assert store.returncode == 0, store.stderr
    live = run_cli(["project", "go-live", "ACME"], env)
    assert live.returncode == 0, live.stderr
    worker = run_cli(["worker", "--once"], env)
    assert worker.returncode == 0, worker.stderr
    assert "HTTP 401" in worker.stderr
    # A malformed secret-bearing setting is named, its value hidden.
    broken = service_env(sqlite_url, SCOPEWATCH_SMTP_URL=f"ftp://{SMTP_USER}:{SMTP_PASSWORD}@x")
    bad_setting = run_cli(["inbox", "stats"], broken)
    assert bad_setting.returncode == 2
    assert "SCOPEWATCH_SMTP_URL=(hidden)" in bad_setting.stderr

    for text in [*raised, refused.error or ""]:
        for secret in SECRETS.values():
            assert secret not in text
    figures.update(provocations=len(raised) + 7)


def test_no_secret_in_any_log_of_the_reliability_run(
    sqlite_url: str,
    tmp_path: Path,
    strict_jira: SandboxServer,
    smtp_port: int,
    figures: dict[str, Any],
) -> None:
    # Provoked here, not by an earlier test: the order is random and the run spread over workers,
    # so this process's logs are only sure to hold these failures (and whatever else ran here).
    provoke_all(sqlite_url, tmp_path, strict_jira, smtp_port, figures)
    started = time.monotonic()
    text = CORPUS.text()
    found = {
        name: [form for form in leak_forms(secret) if form in text]
        for name, secret in SECRETS.items()
    }
    assert found == {name: [] for name in SECRETS}
    # The scan must have had something to read, or it proves nothing.
    assert len(text.splitlines()) > 20
    figures.update(
        log_lines_scanned=len(text.splitlines()),
        log_bytes_scanned=len(text.encode()),
        in_process_records=len(CORPUS.lines),
        subprocess_logs=sum(1 for path in CORPUS.files if path.exists()),
        secrets_checked=len(SECRETS),
        forms_per_secret=len(leak_forms(SECRET)),
        scan_seconds=round(time.monotonic() - started, 2),
    )
