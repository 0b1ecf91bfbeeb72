"""Helpers for the cockpit tests: accounts, a mirrored ACME project, and logging in."""

from __future__ import annotations

import re
from typing import Any

from service.accounts.users import add_user
from service.mirror import worker
from tests.support import FIXTURES, NOW, JiraSender, fixture_body

SECRET_KEY = "test-cockpit-secret-key-3e9f"
PASSWORD = "correct horse battery"
PM = "pm@agency.example"
VIEWER = "viewer@agency.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_people(app: Any) -> None:
    engine = app.extensions["scopewatch"].engine
    add_user(engine, PM, "pm", PASSWORD, now=NOW)
    add_user(engine, VIEWER, "viewer", PASSWORD, now=NOW)


def mirror_acme(app: Any) -> None:
    """The captured webhooks, stored and applied: ACME then has scope changes (ACME-101)."""
    sender = JiraSender(app.test_client())
    for path in sorted(FIXTURES.glob("*.json")):
        if path.stem.endswith("issue_deleted"):
            continue
        assert sender.post(fixture_body(path.stem)).status_code == 202, path.stem
    runtime = app.extensions["scopewatch"]
    assert worker.drain_inbox(runtime.engine, runtime.mapping).failed == 0


def csrf_of(client: Any, path: str = "/login") -> str:
    page = client.get(path)
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: Any, email: str = PM, password: str = PASSWORD) -> Any:
    token = csrf_of(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})
