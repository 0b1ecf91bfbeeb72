"""Helpers for the cockpit tests: accounts, a mirrored ACME project, and logging in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from service import create_app
from service.accounts.users import add_user
from service.mirror import worker
from service.store.clock import frozen_clock
from tests.support import FIXTURES, NOW, JiraSender, app_settings, fixture_body

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


@contextmanager
def mirrored_app(db_url: str, **settings: Any) -> Iterator[Any]:
    """The app with the cockpit on, its clock at NOW, the PM and the viewer, and ACME mirrored."""
    app = create_app(
        app_settings(db_url, secret_key=SECRET_KEY, **settings), clock=frozen_clock(NOW)
    )
    add_people(app)
    mirror_acme(app)
    try:
        yield app
    finally:
        app.extensions["scopewatch"].engine.dispose()


def logged_in(app: Any) -> Any:
    """A test client with the PM's session."""
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client
