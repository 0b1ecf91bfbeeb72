"""The digest at the service's edge: when it is due, the preview, and the client's feedback form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.digest.build import build_digest, report_week
from service.digest.links import feedback_link, feedback_secret, make_token
from service.digest.send import is_due
from service.store import schema
from tests.support import ADMIN, NOW

AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


def runtime(app):
    return app.extensions["scopewatch"]


def test_a_digest_is_due_at_the_projects_day_hour_and_time_zone(app):
    acme = runtime(app).mapping.project("ACME")  # MON 08:00 Europe/Berlin (UTC+1 in November)
    assert not is_due(acme, "2026-W47", datetime(2026, 11, 23, 6, 59, tzinfo=UTC))
    assert is_due(acme, "2026-W47", datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    # On Monday morning the report covers the week that just ended.
    assert report_week(acme, None, datetime(2026, 11, 23, 7, 0, tzinfo=UTC)) == "2026-W47"


def test_a_week_far_from_the_project_or_malformed_is_refused_with_a_reason(app):
    acme = runtime(app).mapping.project("ACME")
    with pytest.raises(ValueError, match="more than a year outside the project"):
        report_week(acme, "2030-W01", NOW)
    with pytest.raises(ValueError, match="expected YYYY-Www"):
        report_week(acme, "47", NOW)


@pytest.mark.parametrize(
    ("fmt", "ctype", "needle"),
    [
        ("json", "application/json", '"week":"2026-W47"'),
        ("html", "text/html", "<html"),
        ("text", "text/plain", "Week 47"),
    ],
)
def test_the_preview_serves_each_format_behind_the_admin_token(client, fmt, ctype, needle):
    url = f"/api/projects/ACME/digest?week=2026-W47&format={fmt}"
    assert client.get(url).status_code == 401
    response = client.get(url, headers=AS_ADMIN)
    assert response.status_code == 200
    assert response.content_type.startswith(ctype)
    assert needle in response.get_data(as_text=True)


def test_the_preview_refuses_bad_input_with_one_line(client):
    assert client.get("/api/projects/NOPE/digest", headers=AS_ADMIN).status_code == 404
    bad = client.get("/api/projects/ACME/digest?week=2026-W99", headers=AS_ADMIN)
    assert bad.status_code == 400
    assert "2026 has no ISO week 99" in bad.get_json()["error"]["message"]
    assert client.get("/api/projects/ACME/digest?format=pdf", headers=AS_ADMIN).status_code == 400


def _form_path(app, recipient: str | None = None) -> str:
    link = feedback_link(runtime(app), "ACME", "2026-W47", recipient)
    return link.split("127.0.0.1:8080", 1)[1]


def test_the_feedback_link_opens_a_form_and_records_one_answer(app, client):
    # The app's clock says Tuesday of week 48: the client answers week 47's digest.
    path = _form_path(app)
    form = client.get(path)
    assert form.status_code == 200
    assert "Are you happy with this week's progress?" in form.get_data(as_text=True)
    bad = client.post(path, data={"happy": "maybe", "score": "7"})
    assert bad.status_code == 400 and "yes or no" in bad.get_data(as_text=True)
    done = client.post(path, data={"happy": "yes", "score": "8", "comment": "<b>good</b>"})
    assert done.status_code == 200
    again = client.post(path, data={"happy": "no", "score": "2"})
    assert again.status_code == 409
    assert "already been recorded" in again.get_data(as_text=True)
    with runtime(app).engine.connect() as conn:
        rows = conn.execute(select(schema.feedback)).mappings().all()
    assert [(r["week"], r["happy"], r["score"], r["comment"]) for r in rows] == [
        ("2026-W47", True, 8, "<b>good</b>")
    ]
    digest = build_digest(runtime(app), "ACME", "2026-W48", datetime(2026, 11, 30, tzinfo=UTC))
    assert digest["feedback"]["last"]["score"] == 8  # shown in the next week's digest
    assert digest["feedback"]["last"]["at"] == "2026-11-24T11:00:00+01:00"


def test_a_link_mailed_before_links_named_recipients_still_takes_one_answer(app, client):
    """A week's link from before 0011 names no one: its answer is stored without a name, and
    each recipient's own link still takes theirs."""
    old = _form_path(app)
    assert client.post(old, data={"happy": "yes", "score": "7"}).status_code == 200
    assert client.post(old, data={"happy": "yes", "score": "7"}).status_code == 409
    ana = _form_path(app, "ana@acme.example")
    assert ana != old
    assert client.post(ana, data={"happy": "no", "score": "3"}).status_code == 200
    with runtime(app).engine.connect() as conn:
        rows = conn.execute(select(schema.feedback).order_by(schema.feedback.c.id)).all()
    assert [(r.recipient, r.score) for r in rows] == [(None, 7), ("ana@acme.example", 3)]


def test_forged_and_expired_links_get_a_clear_page(app, client):
    secret = feedback_secret(runtime(app))
    forged = make_token("not-the-secret", "ACME", "2026-W47", "n1", now=NOW)
    page = client.get(f"/feedback/{forged}")
    assert page.status_code == 400
    assert "not valid" in page.get_data(as_text=True)
    old = make_token(secret, "ACME", "2026-W47", "n2", now=NOW - timedelta(days=30))
    expired = client.get(f"/feedback/{old}")
    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True)
    assert client.get("/feedback/garbage").status_code == 400
