"""The cockpit's refusals, through Flask's test client: who may see, decide and send.

Every refusal a stranger, a viewer or a forged form could meet: no session, a wrong password, a
throttled login, a missing CSRF token, a viewer pressing a PM's button.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from service import create_app
from service.accounts.users import remove_user
from service.store import schema
from service.store.clock import frozen_clock
from tests.support import NOW, app_settings
from tests.web.cockpit_support import (
    PASSWORD,
    PM,
    SECRET_KEY,
    VIEWER,
    add_people,
    csrf_of,
    log_in,
    mirror_acme,
)

PAGES = ("/", "/projects/ACME", "/projects/ACME/digest", "/projects/ACME/feedback")


@pytest.fixture
def app(db_url: str) -> Iterator[Any]:
    app = create_app(app_settings(db_url, secret_key=SECRET_KEY), clock=frozen_clock(NOW))
    add_people(app)
    yield app
    app.extensions["scopewatch"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def decision_of(app: Any, key: str) -> str:
    with app.extensions["scopewatch"].engine.connect() as conn:
        return str(
            conn.execute(
                select(schema.scope_changes.c.decision).where(schema.scope_changes.c.key == key)
            ).scalar_one()
        )


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_every_page_sends_the_browser_to_the_login(client: Any, path: str):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client: Any):
    wrong = log_in(client, PM, "not the password")
    unknown = log_in(client, "nobody@agency.example", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong e-mail or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_after_five_wrong_passwords_even_the_right_one_is_refused_for_a_while(
    client: Any, app: Any
):
    for _ in range(5):
        assert log_in(client, PM, "guess").status_code == 401
    throttled = log_in(client, PM, PASSWORD)
    assert throttled.status_code == 429
    assert "Too many failed attempts" in throttled.get_data(as_text=True)
    # Another account is not locked by someone guessing at this one.
    assert log_in(app.test_client(), VIEWER, PASSWORD).status_code == 302


def test_a_form_without_its_csrf_token_is_refused(client: Any, app: Any):
    no_token = client.post("/login", data={"email": PM, "password": PASSWORD})
    assert no_token.status_code == 400
    assert "CSRF" in no_token.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in

    mirror_acme(app)
    assert log_in(client).status_code == 302
    forged = client.post("/projects/ACME/changes/ACME-101/decision", data={"action": "approve"})
    assert forged.status_code == 400
    assert decision_of(app, "ACME-101") == "pending"


def test_a_viewer_sees_the_pages_but_may_neither_decide_nor_send(client: Any, app: Any):
    mirror_acme(app)
    assert log_in(client, VIEWER).status_code == 302
    page = client.get("/projects/ACME")
    assert page.status_code == 200
    assert "ACME-101" in page.get_data(as_text=True)
    assert "viewers cannot decide" in page.get_data(as_text=True)
    token = csrf_of(client, "/projects/ACME")
    decided = client.post(
        "/projects/ACME/changes/ACME-101/decision",
        data={"action": "approve", "csrf_token": token},
    )
    sent = client.post(
        "/projects/ACME/digest",
        data={"week": "2026-W47", "confirm": "yes", "action": "send", "csrf_token": token},
    )
    assert decided.status_code == 403 and sent.status_code == 403
    assert "is a viewer" in decided.get_data(as_text=True)
    assert decision_of(app, "ACME-101") == "pending"


def test_a_pm_approves_a_change_and_its_write_back_to_jira_is_queued(client: Any, app: Any):
    mirror_acme(app)
    log_in(client)
    token = csrf_of(client, "/projects/ACME")
    response = client.post(
        "/projects/ACME/changes/ACME-101/decision",
        data={"action": "approve", "note": "agreed on the call", "csrf_token": token},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "ACME-101 is now approved." in response.get_data(as_text=True)
    assert decision_of(app, "ACME-101") == "approved"
    with app.extensions["scopewatch"].engine.connect() as conn:
        jobs = conn.execute(select(schema.outbox.c.status)).scalars().all()
    assert "pending" in jobs


def test_the_session_cookie_is_secure_httponly_and_lax(client: Any):
    response = log_in(client)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("scopewatch_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in cookie


def test_logging_out_and_removing_an_account_both_end_the_session(client: Any, app: Any):
    log_in(client)
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert client.get("/").status_code == 302
    log_in(client)
    remove_user(app.extensions["scopewatch"].engine, PM)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:x"]
)
def test_the_login_never_sends_the_browser_to_another_site(client: Any, target: str):
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"email": PM, "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.headers["Location"] == "/"


def test_the_login_goes_back_to_the_page_asked_for(client: Any):
    asked = client.get("/projects/ACME/feedback").headers["Location"]
    assert asked == "/login?next=/projects/ACME/feedback"
    token = csrf_of(client, asked)
    response = client.post(
        "/login",
        data={
            "email": PM,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/projects/ACME/feedback",
        },
    )
    assert response.headers["Location"] == "/projects/ACME/feedback"


def test_without_a_secret_key_the_cockpit_is_off_and_says_why(sqlite_url: str):
    app = create_app(app_settings(sqlite_url))
    try:
        response = app.test_client().get("/login")
        assert response.status_code == 404
        assert "SCOPEWATCH_SECRET_KEY" in response.get_data(as_text=True)
    finally:
        app.extensions["scopewatch"].engine.dispose()
