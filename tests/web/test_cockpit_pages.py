"""What a PM reads and does on the cockpit's pages: figures, changes, the digest, feedback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from service.store import schema
from tests.smtp_sink import ScriptedSink, running_sink
from tests.support import NOW
from tests.web.cockpit_support import csrf_of, logged_in, mirrored_app

WEEK = "2026-W47"


@pytest.fixture
def sink() -> Iterator[tuple[ScriptedSink, str]]:
    with running_sink() as (handler, port):
        yield handler, f"smtp://127.0.0.1:{port}"


@pytest.fixture
def app(sqlite_url: str, sink: tuple[ScriptedSink, str]) -> Iterator[Any]:
    with mirrored_app(
        sqlite_url,
        smtp_url=sink[1],
        mail_from="pm@agency.example",
        jira_url="https://acme.atlassian.net",
    ) as app:
        yield app


@pytest.fixture
def client(app: Any) -> Any:
    return logged_in(app)


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_overview_lists_every_project_with_its_pending_decisions(client: Any):
    page = text_of(client.get("/"))
    assert "ACME</a> · Acme Corp" in page
    assert "BETA" in page
    assert "Pending decisions" in page and "Budget used" in page
    assert "none sent yet" in page
    assert "no answers yet" in page


def test_the_project_page_filters_changes_and_links_them_to_jira(client: Any, app: Any):
    pending = text_of(client.get("/projects/ACME"))
    assert 'id="change-ACME-101"' in pending
    assert 'aria-label="Approve ACME-101"' in pending
    assert 'href="https://acme.atlassian.net/browse/ACME-101"' in pending
    decided = text_of(client.get("/projects/ACME?show=decided"))
    assert 'id="change-ACME-101"' not in decided and "No scope changes here." in decided
    token = csrf_of(client, "/projects/ACME")
    client.post(
        "/projects/ACME/changes/ACME-101/decision",
        data={"action": "reject", "note": "not in the contract", "csrf_token": token},
    )
    decided = text_of(client.get("/projects/ACME?show=decided"))
    assert (
        'id="change-ACME-101"' in decided
        and "rejected" in decided
        and "not in the contract" in decided
    )


def test_the_project_page_shows_blockers_and_both_charts(client: Any):
    page = text_of(client.get("/projects/ACME?show=all"))
    assert "Blockers at the end of 2026-W47" in page
    assert page.count('src="data:image/png;base64,') == 2
    assert 'alt="Budget burn by week for ACME"' in page


def test_an_unknown_project_is_a_page_not_a_stack_trace(client: Any):
    response = client.get("/projects/NOPE")
    assert response.status_code == 404
    assert "unknown project NOPE" in response.get_data(as_text=True)


def test_the_digest_page_shows_the_mail_and_sends_it_once_after_confirmation(
    client: Any, sink: tuple[ScriptedSink, str]
):
    handler, _ = sink
    page = text_of(client.get(f"/projects/ACME/digest?week={WEEK}"))
    assert "Not sent yet." in page and 'id="send-now"' in page
    assert "<iframe" in page and "srcdoc=" in page
    token = csrf_of(client, f"/projects/ACME/digest?week={WEEK}")
    form = {"week": WEEK, "action": "send", "csrf_token": token}

    unconfirmed = client.post("/projects/ACME/digest", data=form, follow_redirects=True)
    assert "Tick the confirmation box" in text_of(unconfirmed)
    assert handler.messages() == []

    sent = client.post(
        "/projects/ACME/digest", data={**form, "confirm": "yes"}, follow_redirects=True
    )
    assert "The digest was sent." in text_of(sent)
    assert 'id="resend"' in text_of(sent)
    assert "pm@acme.example: sent at" in text_of(sent)  # each recipient's own copy
    again = client.post(
        "/projects/ACME/digest", data={**form, "confirm": "yes"}, follow_redirects=True
    )
    assert "sent already" in text_of(again)
    assert len(handler.messages()) == 1

    resent = client.post(
        "/projects/ACME/digest",
        data={**form, "confirm": "yes", "action": "resend"},
        follow_redirects=True,
    )
    assert "The digest was sent." in text_of(resent)
    first, second = handler.messages()
    assert first["Subject"] == second["Subject"]
    assert first["Message-ID"] != second["Message-ID"]  # else mail clients hide the resend


def test_a_refused_recipient_shows_on_the_digest_page_and_is_sent_the_rest_later(
    client: Any, sink: tuple[ScriptedSink, str]
):
    handler, _ = sink
    handler.refuse = {"pm@acme.example": "550 5.1.1 no such mailbox"}
    token = csrf_of(client, f"/projects/ACME/digest?week={WEEK}")
    form = {"week": WEEK, "action": "send", "confirm": "yes", "csrf_token": token}
    failed = text_of(client.post("/projects/ACME/digest", data=form, follow_redirects=True))
    assert "Sending failed" in failed
    assert "pm@acme.example: failed (" in failed and "550 5.1.1 no such mailbox" in failed
    assert 'id="send-rest"' in failed and handler.messages() == []

    handler.refuse.clear()
    rest = text_of(client.post("/projects/ACME/digest", data=form, follow_redirects=True))
    assert "The digest was sent." in rest and "pm@acme.example: sent at" in rest
    assert len(handler.messages()) == 1


def test_a_bad_week_is_explained(client: Any):
    response = client.get("/projects/ACME/digest?week=2026-W99")
    assert response.status_code == 400
    assert "W99" in response.get_data(as_text=True)


def test_the_feedback_page_shows_every_answer_with_its_week_and_comment(client: Any, app: Any):
    with app.extensions["scopewatch"].engine.begin() as conn:
        for n, (week, happy, score, comment) in enumerate(
            [
                ("2026-W46", True, 8, "Good progress"),
                ("2026-W47", False, 4, "why is SSO suddenly extra?"),
            ]
        ):
            conn.execute(
                insert(schema.feedback).values(
                    project_key="ACME",
                    week=week,
                    nonce=f"n{n}",
                    happy=happy,
                    score=score,
                    comment=comment,
                    at=NOW - timedelta(days=7 - n),
                )
            )
        assert conn.execute(select(schema.feedback)).all()
    page = text_of(client.get("/projects/ACME/feedback"))
    assert page.index("2026-W47") < page.index("2026-W46")  # newest first
    assert "why is SSO suddenly extra?" in page and "not happy" in page
    home = text_of(client.get("/"))
    assert "4/10, not happy" in home and "(before: 8)" in home


def test_the_overview_shows_each_projects_mode_and_a_skipped_digest_with_why(client: Any, app: Any):
    from service.digest import notices
    from tests.support import go_live

    engine = app.extensions["scopewatch"].engine
    page = text_of(client.get("/"))
    assert page.count("observe: nothing written to Jira") == 2  # a new install observes
    go_live(engine, "ACME")
    notices.record(engine, "ACME", WEEK, notices.SKIP, "the mirror had not caught up", NOW)
    page = text_of(client.get("/"))
    assert page.count("observe: nothing written to Jira") == 1
    assert "live: writes to Jira, mails the client" in page
    assert f"{WEEK}</a>: skipped (the mirror had not caught up)" in page


def test_not_scope_and_reopen_from_the_cockpit_are_audited_with_the_pm(client: Any):
    for action, note in (("not-scope", "agreed at kickoff"), ("reopen", "asked again")):
        token = csrf_of(client, "/projects/ACME")
        done = client.post(
            "/projects/ACME/changes/ACME-101/decision",
            data={"action": action, "note": note, "csrf_token": token},
        )
        assert done.status_code == 302
    page = text_of(client.get("/projects/ACME?show=all"))
    trail = page[page.index("Decisions, latest first") :]
    assert "pending → not-scope" in trail and "not-scope → pending" in trail
    assert trail.index("asked again") < trail.index("agreed at kickoff")  # latest first
    assert '<td data-label="Who">pm@agency.example</td><td data-label="How">web</td>' in trail


def test_the_pm_version_is_shown_on_request_and_the_client_still_gets_the_client_version(
    client: Any, sink: tuple[ScriptedSink, str], app: Any
):
    handler, _ = sink
    pm_only = "Estimate at completion (EAC)"  # the earned-value table, with its acronyms
    shown = text_of(client.get(f"/projects/ACME/digest?week={WEEK}"))
    assert pm_only not in shown and "As the client will see it" in shown
    assert 'id="version-client" aria-current="page"' in shown

    pm = text_of(client.get(f"/projects/ACME/digest?week={WEEK}&audience=pm"))
    assert pm_only in pm and "PM version: for the agency only" in pm
    assert 'id="version-pm" aria-current="page"' in pm
    assert 'name="audience" value="pm"' in pm  # another week keeps the PM version
    odd = text_of(client.get(f"/projects/ACME/digest?week={WEEK}&audience=boss"))
    assert pm_only not in odd and "As the client will see it" in odd

    token = csrf_of(client, f"/projects/ACME/digest?week={WEEK}&audience=pm")
    form = {"week": WEEK, "action": "send", "confirm": "yes", "csrf_token": token}
    assert "The digest was sent." in text_of(
        client.post("/projects/ACME/digest", data=form, follow_redirects=True)
    )
    (mail,) = handler.messages()
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    assert pm_only not in html and "Cost so far" in html
