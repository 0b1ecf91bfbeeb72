"""POST /webhooks/jira, as PRODUCT.md's table says, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from service.intake.signature import sign
from service.store import schema
from service.store.clock import frozen_clock
from tests.support import NOW, SECRET, fixture_body


def count(app, table) -> int:
    with app.extensions["scopewatch"].engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def post_signed(app, body: bytes):
    """A signed delivery through a fresh test client of `app` (not the `jira` fixture's app)."""
    return app.test_client().post(
        "/webhooks/jira",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature": sign(SECRET, body)},
    )


def test_a_signed_jira_event_is_stored_and_answered_202(app, jira):
    response = jira.post(fixture_body("cloud_issue_created"), delivery_id="d-1")
    assert response.status_code == 202
    assert response.get_json() == {"status": "stored"}
    with app.extensions["scopewatch"].engine.connect() as conn:
        row = conn.execute(select(schema.inbox)).mappings().one()
    assert row["event"] == "jira:issue_created"
    assert row["delivery_id"] == "d-1"
    assert row["status"] == "pending"


def test_forged_missing_and_non_ascii_signatures_are_401_and_store_nothing(app, jira):
    body = json.dumps(fixture_body("cloud_issue_created")).encode()
    forged = sign("another-secret", body)
    assert jira.post(body, signature=forged).status_code == 401
    assert jira.post(body, signature="").status_code == 401
    assert jira.post(body, signature="sha256=\u00e9\u00e9\u00e9").status_code == 401
    assert jira.post(body, signature=sign(SECRET, body)[:-2]).status_code == 401  # truncated
    response = jira.post(body, signature="sha256=zz")
    assert response.status_code == 401
    assert "X-Hub-Signature" in response.get_json()["error"]["message"]
    assert count(app, schema.inbox) == 0
    assert count(app, schema.rejected) == 0


def test_signature_hex_is_case_insensitive(app, jira):
    body = json.dumps(fixture_body("cloud_issue_created")).encode()
    assert (
        jira.post(
            body, signature=sign(SECRET, body).upper().replace("SHA256", "sha256")
        ).status_code
        == 202
    )


def test_same_delivery_id_is_a_duplicate_answered_200_with_one_row(app, jira):
    body = fixture_body("cloud_issue_created")
    assert jira.post(body, delivery_id="same").status_code == 202
    again = jira.post(body, delivery_id="same")
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate"}
    assert count(app, schema.inbox) == 1


def test_same_body_under_a_new_id_is_a_duplicate(app, jira):
    body = fixture_body("cloud_issue_created")
    assert jira.post(body, delivery_id="first").status_code == 202
    assert jira.post(body, delivery_id="second").status_code == 200
    with app.extensions["scopewatch"].engine.connect() as conn:
        assert conn.execute(select(schema.inbox.c.duplicates)).scalar_one() == 1


def test_not_json_or_not_a_jira_event_is_400_and_kept_in_the_rejected_log(app, jira):
    for body, reason in [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"hello": "world"}', "no webhookEvent"),
        (b'{"webhookEvent": ""}', "no webhookEvent"),
        (b'{"webhookEvent": 42}', "no webhookEvent"),
    ]:
        response = jira.post(body)
        assert response.status_code == 400, body
        assert reason in response.get_json()["error"]["message"]
    assert count(app, schema.rejected) == 5
    assert count(app, schema.inbox) == 0


def test_wrong_content_type_is_415_and_stores_nothing(app, jira):
    response = jira.post(fixture_body("cloud_issue_created"), content_type="text/plain")
    assert response.status_code == 415
    assert count(app, schema.inbox) == 0
    assert count(app, schema.rejected) == 0


def test_json_with_charset_parameter_is_accepted(jira):
    assert (
        jira.post(
            fixture_body("cloud_issue_created"), content_type="application/json; charset=utf-8"
        ).status_code
        == 202
    )


def test_body_over_the_limit_is_413_and_stores_nothing(app, jira):
    limit = app.extensions["scopewatch"].settings.max_body
    body = b'{"webhookEvent": "jira:issue_updated", "pad": "' + b"x" * limit + b'"}'
    response = jira.post(body)
    assert response.status_code == 413
    assert count(app, schema.inbox) == 0
    assert count(app, schema.rejected) == 0


def test_token_fallback_for_old_data_center_is_accepted_and_never_logged(app, jira, caplog):
    caplog.set_level("DEBUG")
    body = fixture_body("cloud_issue_created")
    assert jira.post(body, signature="", query=f"?token={SECRET}").status_code == 202
    assert (
        jira.post(
            fixture_body("cloud_issue_deleted"), signature="", query="?token=wrong"
        ).status_code
        == 401
    )
    assert SECRET not in caplog.text


def test_unused_jira_events_are_stored(app, jira):
    assert jira.post(fixture_body("cloud_sprint_started")).status_code == 202
    assert count(app, schema.inbox) == 1


def test_a_locked_sqlite_database_answers_503_so_that_jira_retries(sqlite_url):
    import sqlite3

    from service import create_app
    from tests.support import app_settings

    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    other_writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other_writer.execute("BEGIN EXCLUSIVE")
    try:
        body = json.dumps(fixture_body("cloud_issue_created")).encode()
        response = post_signed(app, body)
    finally:
        other_writer.rollback()
        other_writer.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    retry = post_signed(app, body)
    assert retry.status_code == 202


def test_a_delivery_waits_out_a_brief_writer_and_the_connection_keeps_its_busy_timeout(
    sqlite_url,
):
    import sqlite3
    import threading

    from service import create_app
    from tests.support import app_settings

    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    engine = app.extensions["scopewatch"].engine

    def hold_the_write_lock(seconds: float) -> threading.Thread:
        path = sqlite_url.removeprefix("sqlite:///")
        writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        writer.execute("BEGIN IMMEDIATE")
        held = threading.Timer(seconds, lambda: (writer.rollback(), writer.close()))
        held.start()
        return held

    held = hold_the_write_lock(0.3)  # a worker's batch, say
    body = json.dumps(fixture_body("cloud_issue_created")).encode()
    response = post_signed(app, body)
    held.join()
    assert response.status_code == 202
    assert count(app, schema.inbox) == 1
    # Intake tries for the lock on its own; the pooled connection it used must wait for a
    # writer again afterwards, as every other transaction expects.
    held = hold_the_write_lock(0.3)
    with engine.begin() as conn:
        conn.execute(schema.inbox.update().values(attempts=1))
    held.join()


def test_other_methods_and_paths_still_go_through_flask(app, client, jira):
    assert client.get("/webhooks/jira").status_code == 405
    assert client.get("/webhooks/jira").get_json()["error"]["status"] == 405
    assert client.post("/webhooks/jira/", data=b"{}").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert jira.post(fixture_body("cloud_issue_created")).status_code == 202


def test_an_unexpected_error_is_the_apps_json_500_naming_only_its_type(
    app, jira, monkeypatch, caplog
):
    from service.intake import inbox

    def broken(body: bytes) -> str:
        raise RuntimeError("postgresql://user:hunter2@db/secret")

    monkeypatch.setattr(inbox, "event_name", broken)
    response = jira.post(fixture_body("cloud_issue_created"))
    assert response.status_code == 500
    assert response.get_json()["error"]["status"] == 500
    assert "hunter2" not in response.get_data(as_text=True)
    assert "unhandled error: RuntimeError" in caplog.text
    assert count(app, schema.inbox) == 0


def test_the_answers_are_json_with_a_length(jira):
    response = jira.post(fixture_body("cloud_issue_created"), delivery_id="len")
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    again = jira.post(fixture_body("cloud_issue_created"), delivery_id="len")
    assert again.get_json() == {"status": "duplicate"}


def test_any_method_but_post_is_told_to_post(client):
    answer = client.get("/webhooks/jira")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
    assert "only POST" in answer.get_json()["error"]["message"]
