"""The client's daily note of flagged changes, rendered from plain data: what a stranger typed into
a ticket stays text, and only http(s) links become links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reports.flag_notice import notice_message, notice_subject, render_notice_html
from reports.flag_notice import render_notice_text as text

NOTICE: dict[str, Any] = {
    "project": "ACME",
    "client": "Acme Corp",
    "currency": "EUR",
    "locale": "de_DE",
    "day": "2026-11-24",
    "changes": [
        {
            "key": "ACME-40",
            "summary": 'SSO <script>alert("x")</script>\u202e',
            "hours": 12.5,
            "cost": 1062.5,
            "jira": "javascript:alert(1)",
            "approve": "https://scope.agency.example/decisions/a1",
            "reject": "https://scope.agency.example/decisions/r1",
        },
        {"key": "ACME-41", "summary": "No links", "hours": 1, "cost": 85, "approve": None},
    ],
}


def test_each_change_with_its_price_in_the_clients_locale_and_its_links():
    body = text(NOTICE)
    assert 'ACME-40 SSO <script>alert("x")</script>: 12,5 h, 1.062,50\xa0€' in body
    assert "Approve: https://scope.agency.example/decisions/a1" in body
    assert "ACME-41" not in body  # a change the client cannot decide from the mail is left out
    assert "javascript:" not in body and "In Jira" not in body
    assert "New scope changes, 24. Nov. 2026" in body
    assert "\u202e" not in body  # a right-to-left override cannot turn the line around


def test_ticket_text_is_escaped_in_the_html_and_only_http_links_are_links():
    html = render_notice_html(NOTICE)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert 'href="https://scope.agency.example/decisions/r1"' in html


def test_the_message_goes_to_one_recipient_under_the_id_it_was_given():
    when = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    msg = notice_message(
        NOTICE, mail_from="digest@agency.example", to="cfo@acme.example",
        message_id="<flag.ACME.x@agency.example>", date=when,
    )  # fmt: skip
    assert (msg["To"], msg["Message-ID"]) == ("cfo@acme.example", "<flag.ACME.x@agency.example>")
    assert (
        msg["Subject"] == notice_subject(NOTICE) == "[ACME] 1 new scope change awaits your decision"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        notice_message(
            NOTICE, mail_from="a@b", to="c@d", message_id="<x@y>", date=when.replace(tzinfo=None)
        )


def test_nothing_to_list_renders_an_empty_note():
    empty = {**NOTICE, "changes": []}
    assert notice_subject(empty) == "[ACME] 0 new scope changes await your decision"
    assert "Approve" not in text(empty)
