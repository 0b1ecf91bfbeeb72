"""The admin API through Flask's test client, on a tiny app with just the errors and `/api`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, insert, select

from service.runtime import Runtime
from service.scope.engine import evaluate_issue
from service.settings import Settings
from service.store import schema
from service.web import errors
from service.web.api import bp
from tests.scope.scope_support import MAPPING, NOW, issue_row

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_client(engine: Engine, admin_token: str | None = TOKEN) -> Any:
    app = Flask(__name__)
    app.extensions["scopewatch"] = Runtime(
        settings=Settings(admin_token=admin_token), engine=engine, mapping=MAPPING
    )
    errors.init_app(app)
    app.register_blueprint(bp)
    return app.test_client()


@pytest.fixture
def client(db: Engine) -> Iterator[Any]:
    # Three changes, created (Berlin time) on Sun 15 Nov 23:30, Mon 16 Nov 00:30 and Tue 17 Nov.
    with db.begin() as conn:
        for n, created in (
            (1, datetime(2026, 11, 15, 22, 30, tzinfo=UTC)),
            (2, datetime(2026, 11, 15, 23, 30, tzinfo=UTC)),
            (3, datetime(2026, 11, 17, 9, tzinfo=UTC)),
        ):
            conn.execute(insert(schema.issues).values(issue_row(f"1000{n}", created=created)))
            evaluate_issue(conn, MAPPING, f"1000{n}", NOW)
    yield make_client(db)


def error_of(response: Any) -> tuple[int, str]:
    body = response.get_json()
    assert body["error"]["status"] == response.status_code
    return response.status_code, body["error"]["message"]


def keys(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [c["key"] for c in response.get_json()]


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong"),
        pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="longer"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="not bearer"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
        pytest.param({"Authorization": "Bearer s3cret-ädmin-token"}, id="non-ascii"),
    ],
)
def test_every_route_needs_the_admin_token(client, headers):
    for response in (
        client.get("/api/projects/ACME/scope-changes", headers=headers),
        client.post(
            "/api/projects/ACME/scope-changes/ACME-01/decision",
            json={"decision": "approved"},
            headers=headers,
        ),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert error_of(response)[0] == 401


def test_without_a_configured_token_the_api_is_off(db):
    client = make_client(db, admin_token=None)
    response = client.get("/api/projects/ACME/scope-changes", headers=AUTH)
    assert error_of(response) == (401, "admin API disabled: set SCOPEWATCH_ADMIN_TOKEN")


def test_a_refused_decision_changes_nothing(client, db):
    client.post(
        "/api/projects/ACME/scope-changes/ACME-01/decision",
        json={"decision": "approved"},
        headers={"Authorization": "Bearer nope"},
    )
    with db.begin() as conn:
        decisions = conn.execute(select(schema.scope_changes.c.decision)).scalars().all()
    assert set(decisions) == {"pending"}


# --- listing -----------------------------------------------------------------------------------


def test_the_list_in_the_contracts_shape(client):
    response = client.get("/api/projects/ACME/scope-changes", headers=AUTH)
    assert keys(response) == ["ACME-01", "ACME-02", "ACME-03"]
    first = response.get_json()[0]
    assert set(first) >= {
        "key", "summary", "issue_type", "created", "detected_at", "hours", "hours_source",
        "cost", "currency", "schedule_days", "decision", "written_back",
    }  # fmt: skip
    assert (first["hours"], first["cost"], first["decision"]) == (10.0, 800.0, "pending")


def test_dates_are_whole_days_in_the_projects_zone_until_included(client):
    url = "/api/projects/ACME/scope-changes"
    # 23:30 UTC on the 15th is already Monday the 16th in Berlin.
    assert keys(client.get(f"{url}?since=2026-11-16", headers=AUTH)) == ["ACME-02", "ACME-03"]
    assert keys(client.get(f"{url}?until=2026-11-15", headers=AUTH)) == ["ACME-01"]
    assert keys(client.get(f"{url}?since=2026-11-17&until=2026-11-17", headers=AUTH)) == ["ACME-03"]


def test_the_decision_filter(client):
    client.post(
        "/api/projects/ACME/scope-changes/ACME-02/decision",
        json={"decision": "rejected"},
        headers=AUTH,
    )
    url = "/api/projects/ACME/scope-changes?decision="
    assert keys(client.get(url + "rejected", headers=AUTH)) == ["ACME-02"]
    assert keys(client.get(url + "pending", headers=AUTH)) == ["ACME-01", "ACME-03"]
    assert keys(client.get(url + "approved", headers=AUTH)) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "decision=maybe",
            "decision must be one of pending, approved, rejected, not-scope, got 'maybe'",
        ),
        ("since=16.11.2026", "since must be a date as YYYY-MM-DD, got '16.11.2026'"),
        ("until=2026-W47-1", "until must be a date as YYYY-MM-DD, got '2026-W47-1'"),
        ("since=2026-02-30", "since is not a real date: '2026-02-30'"),
        ("since=2026-11-18&until=2026-11-17", "since 2026-11-18 is after until 2026-11-17"),
    ],
)
def test_bad_filters_are_a_400_with_the_reason(client, query, message):
    response = client.get(f"/api/projects/ACME/scope-changes?{query}", headers=AUTH)
    assert error_of(response) == (400, message)


def test_an_unknown_project_is_a_404(client):
    response = client.get("/api/projects/ZETA/scope-changes", headers=AUTH)
    assert error_of(response) == (404, "unknown project ZETA")


# --- deciding ----------------------------------------------------------------------------------


def test_a_decision_answers_with_the_change_and_queues_the_jira_marks(client, db):
    response = client.post(
        "/api/projects/ACME/scope-changes/acme-01/decision",
        json={"decision": "approved", "note": "Approved in the steering call"},
        headers=AUTH,
    )
    assert response.status_code == 200
    change = response.get_json()
    assert (change["key"], change["decision"], change["decision_note"]) == (
        "ACME-01", "approved", "Approved in the steering call",
    )  # fmt: skip
    assert change["written_back"] is False
    with db.begin() as conn:
        jobs = conn.execute(select(schema.outbox.c.payload).order_by(schema.outbox.c.id)).all()
    assert jobs[-1].payload["labels_add"] == ["scope-change", "scope-approved"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[]", "body must be a JSON object"),
        (b"null", "body must be a JSON object"),
        (b'{"decision": "maybe"}', "decision must be one of pending, approved, rejected, not-"),
        (b'{"note": "no decision"}', "decision must be one of pending, approved, rejected, not-"),
        (b'{"decision": "approved", "by": ""}', "by must be a non-empty string"),
        (b'{"decision": "approved", "note": 5}', "note must be a string"),
        (
            b'{"decision": "approved", "note": "' + b"x" * 2001 + b'"}',
            "note is longer than 2000 characters",
        ),
    ],
)
def test_a_bad_decision_body_is_a_400_with_the_reason(client, body, message):
    response = client.post(
        "/api/projects/ACME/scope-changes/ACME-01/decision",
        data=body,
        content_type="application/json",
        headers=AUTH,
    )
    status, said = error_of(response)
    assert status == 400 and said.startswith(message)


def test_a_note_of_exactly_the_limit_is_fine(client):
    response = client.post(
        "/api/projects/ACME/scope-changes/ACME-01/decision",
        json={"decision": "rejected", "note": "x" * 2000},
        headers=AUTH,
    )
    assert response.status_code == 200


def test_a_decision_must_be_json(client):
    response = client.post(
        "/api/projects/ACME/scope-changes/ACME-01/decision",
        data="decision=approved",
        content_type="application/x-www-form-urlencoded",
        headers=AUTH,
    )
    assert error_of(response) == (415, "Content-Type must be application/json")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("ZETA/scope-changes/ACME-01", "unknown project ZETA"),
        ("ACME/scope-changes/ACME-99", "no scope change ACME-99 in project ACME"),
    ],
)
def test_deciding_on_an_unknown_project_or_issue_is_a_404(client, path, message):
    response = client.post(
        f"/api/projects/{path}/decision", json={"decision": "approved"}, headers=AUTH
    )
    assert error_of(response) == (404, message)


def test_the_scheme_name_is_case_insensitive_as_http_says(client):
    response = client.get(
        "/api/projects/ACME/scope-changes", headers={"Authorization": f"bearer {TOKEN}"}
    )
    assert response.status_code == 200


def test_an_oversized_decision_body_is_refused_unread(client):
    response = client.post(
        "/api/projects/ACME/scope-changes/ACME-01/decision",
        data=b'{"decision": "approved", "note": "' + b"x" * 70_000 + b'"}',
        content_type="application/json",
        headers=AUTH,
    )
    assert error_of(response) == (413, "body larger than 65536 bytes")


def test_a_flag_taken_back_and_reopened_through_the_api_is_audited(client, db):
    url = "/api/projects/ACME/scope-changes/ACME-01/decision"
    response = client.post(url, json={"decision": "not-scope", "note": "kickoff"}, headers=AUTH)
    assert response.status_code == 200
    change = response.get_json()
    assert (change["decision"], change["decision_channel"], change["decided_by"]) == (
        "not-scope", "api", "admin API",
    )  # fmt: skip
    listed = keys(client.get("/api/projects/ACME/scope-changes?decision=not-scope", headers=AUTH))
    assert listed == ["ACME-01"]
    body = {"decision": "pending", "by": "ops@agency.example"}
    reopened = client.post(url, json=body, headers=AUTH).get_json()
    assert (reopened["decision"], reopened["decided_by"]) == ("pending", "ops@agency.example")
    with db.begin() as conn:
        trail = conn.execute(
            select(schema.scope_decisions.c.from_decision, schema.scope_decisions.c.to_decision)
        ).all()
    assert [tuple(t) for t in trail] == [("pending", "not-scope"), ("not-scope", "pending")]
