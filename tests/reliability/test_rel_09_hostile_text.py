"""Case 9: hostile ticket text, from the webhook to the client's inbox and spreadsheet.

Issues whose summaries carry `<script>`, `javascript:` links, CR/LF header injections and
spreadsheet formulas come in through the real intake and worker, are flagged by the scope engine,
and leave as the digest (HTML, text, the e-mail's headers) and the CSV/XLSX export. Each must show
the text as typed and run nothing: escaped in HTML, one line in text and headers, inert in cells.
"""

from __future__ import annotations

import copy
import csv
import email
import email.policy
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import func, select

from mappings import load_mapping
from reports.mail import build_message
from reports.render import render_html, render_text, subject
from service import create_app
from service.digest.build import build_digest
from service.mirror.worker import drain_inbox
from service.scope.export import export_scope_changes
from service.store import schema
from service.store.clock import frozen_clock
from service.store.engine import reader
from tests.reliability.harness import MAPPINGS
from tests.support import NOW, JiraSender, app_settings, fixture_body

MAPPING = load_mapping(MAPPINGS)
WEEK = "2026-W47"  # the fixture's issue was created on 17 Nov 2026

MARKUP = [
    "<script>alert('x')</script> Export invoices",
    '<img src=x onerror="alert(1)"> Portal banner',
    '<a href="javascript:alert(1)">Click me</a> for the FAQ',
    "javascript:alert(document.cookie)",
    "Quote\r\nBcc: attacker@evil.example\r\nX-Injected: yes",
    "Line\u2028Bcc: separator@evil.example\u202e gnp.exe",
]
FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
SUMMARIES = MARKUP + FORMULAS
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def hostile_issue(n: int, summary: str) -> dict[str, Any]:
    body = copy.deepcopy(fixture_body("cloud_issue_created"))
    body["timestamp"] += n
    issue = body["issue"]
    issue["id"] = str(90_000 + n)
    issue["key"] = f"ACME-{900 + n}"
    issue["self"] = issue["self"].replace("10101", issue["id"])
    issue["fields"]["summary"] = summary
    return body


@pytest.fixture
def flagged(sqlite_url: str) -> Iterator[Flask]:
    """An app whose ACME project holds one scope change per hostile summary, as Jira sent them."""
    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    sender = JiraSender(app.test_client())
    for n, summary in enumerate(SUMMARIES):
        assert sender.post(hostile_issue(n, summary)).status_code == 202
    engine = app.extensions["scopewatch"].engine
    stats = drain_inbox(engine, MAPPING, now=frozen_clock(NOW))
    assert (stats.handled, stats.failed) == (len(SUMMARIES), 0)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(schema.scope_changes)).scalar_one()
    assert count == len(SUMMARIES)
    yield app
    engine.dispose()


def digest_of(app: Flask) -> dict[str, Any]:
    d = build_digest(app.extensions["scopewatch"], "ACME", WEEK)
    assert sorted(c["summary"] for c in d["scope"]["changes_this_week"]) == sorted(SUMMARIES)
    return d


def test_markup_and_links_are_escaped_in_the_digest_html(
    flagged: Flask, figures: dict[str, Any]
) -> None:
    html = render_html(digest_of(flagged))
    assert re.search(r"<\s*script", html, re.IGNORECASE) is None
    assert re.search(r"<\s*img[^>]*onerror", html, re.IGNORECASE) is None
    assert re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", html, re.IGNORECASE) is None
    # Shown as typed (escaped), not silently dropped.
    assert html.count("&lt;script&gt;") >= 1  # shown, escaped, in each section that lists it
    assert html.count("&lt;img src=x onerror=") >= 1
    assert "&lt;a href=&#34;javascript:alert(1)&#34;&gt;Click me&lt;/a&gt;" in html
    links = re.findall(r"""<a\s[^>]*href\s*=\s*["']([^"']*)""", html, re.IGNORECASE)
    assert all(link.startswith(("https://", "http://")) for link in links), links
    sources = re.findall(r"""<img\s[^>]*src\s*=\s*["']([^"']*)""", html, re.IGNORECASE)
    assert all(src.startswith(("data:image/png;base64,", "cid:")) for src in sources), sources
    assert "\u202e" not in html and "\u2028" not in html  # direction override, line separator
    figures.update(hostile_changes=len(SUMMARIES), links_in_html=len(links))


def test_ticket_text_stays_on_one_line_in_the_digest_text(flagged: Flask) -> None:
    text = render_text(digest_of(flagged))
    assert "\r" not in text and "\u2028" not in text and "\u202e" not in text
    for line in text.splitlines():
        assert not line.startswith(("Bcc:", "X-Injected:")), line
    # Kept as plain words inside its table row (clipped to the column's width).
    assert text.count("ACME-904  Quote Bcc: attacker@evil.example X-…") == 1


def test_the_email_has_exactly_its_own_headers(flagged: Flask, figures: dict[str, Any]) -> None:
    d = digest_of(flagged)
    line = subject(d)
    assert "\r" not in line and "\n" not in line
    raw = bytes(
        build_message(
            d,
            mail_from="Scopewatch <digest@agency.example>",
            to=["pm@acme.example"],
            message_id="<digest.ACME.2026-W47@agency.example>",
            date=datetime(2026, 11, 23, 7, tzinfo=UTC),
        )
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert sorted(message.keys()) == sorted(
        ["Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted", "MIME-Version",
         "Content-Type"]
    )  # fmt: skip
    assert message["Subject"] == line
    for part in message.walk():
        assert "Bcc" not in part and "X-Injected" not in part
    assert b"\nBcc:" not in raw and b"\nX-Injected:" not in raw
    figures.update(headers=len(message.keys()), mime_parts=sum(1 for _ in message.walk()))


def test_a_hostile_project_name_cannot_add_a_header() -> None:
    d: dict[str, Any] = {"project": "ACME\r\nBcc: x@evil.example", "week": "2026-W47\nX-A: 1"}
    line = subject(d)
    assert "\r" not in line and "\n" not in line
    assert line.startswith("[ACME Bcc: x@evil.example] 2026-W47 X-A: 1:")


def export_rows(app: Flask, fmt: str) -> list[list[Any]]:
    with reader(app.extensions["scopewatch"].engine) as conn:
        data = export_scope_changes(conn, "ACME", fmt)
    if fmt == "csv":
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    # The changes end at the empty row before the XLSX's totals row.
    return table[: next((n for n, row in enumerate(table) if not any(row)), len(table))]


def as_read(text: str, fmt: str) -> str:
    """XML (inside XLSX) reads every CR back as LF; CSV keeps text byte for byte."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if fmt == "xlsx" else text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_are_inert_in_the_spreadsheet_export(
    flagged: Flask, fmt: str, figures: dict[str, Any]
) -> None:
    header, *rows = export_rows(flagged, fmt)
    assert len(rows) == len(SUMMARIES)
    summary_at = header.index("Summary")
    summaries = [row[summary_at] for row in rows]
    for typed in FORMULAS:
        shown = "'" + as_read(typed, fmt)
        assert summaries.count(shown) == 1, typed  # shown as typed, behind a quote
    for typed in MARKUP:
        assert summaries.count(as_read(typed, fmt)) == 1, typed  # nothing else is touched
    cells = [cell for row in rows for cell in row if isinstance(cell, str)]
    assert [cell for cell in cells if cell.startswith(FORMULA_STARTS)] == []
    figures.update(rows=len(rows), neutralised=sum(1 for s in summaries if s.startswith("'")))
