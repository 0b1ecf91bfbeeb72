from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from service.scope.decisions import decide
from service.scope.engine import evaluate_issue
from service.scope.export import COLUMNS, TOTAL_LABEL, export_scope_changes, neutralise
from service.store import schema
from tests.scope.scope_support import MAPPING, NOW, issue_row

ATTACK = "=cmd|' /C calc'!A0"
JIRA = "https://acme.atlassian.net"
BERLIN = "Europe/Berlin"
LATER = NOW + timedelta(hours=3)


@pytest.fixture
def conn(db):
    with db.begin() as conn:
        for issue_id, summary in (
            ("10001", ATTACK),
            ("10002", "Größere Übersicht für €-Beträge"),
            ("10003", "-1+1"),
        ):
            conn.execute(insert(schema.issues).values(issue_row(issue_id, summary=summary)))
            evaluate_issue(conn, MAPPING, issue_id, NOW)
        decide(
            conn, MAPPING, "ACME", "ACME-02", "approved", "steering call", LATER,
            channel="email", by="cfo@acme.example",
        )  # fmt: skip
        decide(conn, MAPPING, "ACME", "ACME-03", "rejected", None, LATER, channel="cli", by="pat")
        yield conn


def csv_records(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_human_headers_dates_money_links_and_the_decision(conn):
    data = export_scope_changes(conn, "ACME", "csv", tz=BERLIN, jira_url=JIRA)
    assert data.startswith(b"\xef\xbb\xbf")  # so that Excel reads the UTF-8 as UTF-8
    first, approved, _ = csv_records(data)
    assert list(first) == list(COLUMNS)
    # 09:30 and 10:00 UTC are 10:30 and 11:00 in Berlin, as the client's digest shows them.
    assert (first["Created in Jira"], first["Flagged by scopewatch"]) == (
        "2026-11-16 10:30", "2026-11-16 11:00",
    )  # fmt: skip
    assert (first["Issue"], first["Cost"], first["Currency"], first["Hours"]) == (
        "ACME-01", "800.00", "EUR", "10.0",
    )  # fmt: skip
    assert first["Link"] == f"{JIRA}/browse/ACME-01"
    assert (first["Decision"], first["Decided by"], first["Written to Jira"]) == (
        "Pending", "", "not yet",
    )  # fmt: skip
    decided = ("Decision", "Decided at", "Decided by", "Decided through")
    assert {k: approved[k] for k in decided} == {
        "Decision": "Approved", "Decided at": "2026-11-16 14:00",
        "Decided by": "cfo@acme.example", "Decided through": "Client's e-mail link",
    }  # fmt: skip
    assert approved["Decision note"] == "steering call"


def test_csv_defuses_formulas(conn):
    records = csv_records(export_scope_changes(conn, "ACME", "csv"))
    assert [r["Summary"] for r in records] == [
        "'" + ATTACK,
        "Größere Übersicht für €-Beträge",
        "'-1+1",
    ]


def test_xlsx_has_typed_cells_links_a_totals_row_and_the_trail(conn):
    data = export_scope_changes(conn, "ACME", "xlsx", tz=BERLIN, jira_url=JIRA)
    book = load_workbook(io.BytesIO(data))
    sheet = book["Scope changes"]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == COLUMNS
    first = dict(zip(COLUMNS, table[1], strict=True))
    assert first["Created in Jira"] == datetime(2026, 11, 16, 10, 30)  # a date cell, Berlin time
    assert (first["Hours"], first["Cost"]) == (10.0, 800.0)  # numbers stay numbers
    cost_cell = sheet.cell(row=2, column=COLUMNS.index("Cost") + 1)
    assert cost_cell.number_format == '#,##0.00 "EUR"'
    assert sheet.cell(row=2, column=1).hyperlink.target == f"{JIRA}/browse/ACME-01"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    total = dict(zip(COLUMNS, table[-1], strict=True))
    # pending ACME-01 and approved ACME-02 count; rejected ACME-03 does not
    assert (total["Issue"], total["Hours"], total["Cost"]) == (TOTAL_LABEL, 20.0, 1600.0)
    trail = list(book["Decisions"].iter_rows(values_only=True))
    assert trail[0] == ("Issue", "At", "From", "To", "Decided by", "Decided through", "Note")
    assert trail[1:] == [
        ("ACME-02", datetime(2026, 11, 16, 14), "Pending", "Approved", "cfo@acme.example",
         "Client's e-mail link", "steering call"),
        ("ACME-03", datetime(2026, 11, 16, 14), "Pending", "Rejected", "pat", "Command line",
         None),
    ]  # fmt: skip


def test_xlsx_has_no_formula_cells(conn):
    data = export_scope_changes(conn, "ACME", "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    table = list(sheet.iter_rows(values_only=True))
    assert [row[1] for row in table[1:4]] == [
        "'" + ATTACK,
        "Größere Übersicht für €-Beträge",
        "'-1+1",
    ]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_empty_project_exports_just_the_header(db, fmt):
    with db.begin() as conn:
        data = export_scope_changes(conn, "ACME", fmt)
    if fmt == "csv":
        assert data.decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]
    else:
        rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
        assert rows[0] == COLUMNS and rows[-1][0] == TOTAL_LABEL and rows[-1][5] == 0.0


def test_every_dangerous_start_is_neutralised_and_nothing_else():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert neutralise("Plain summary = fine") == "Plain summary = fine"
    assert neutralise(-5.0) == -5.0 and neutralise(None) is None and neutralise("") == ""


def test_an_unknown_format_is_refused(db):
    with db.begin() as conn, pytest.raises(ValueError, match="unknown export format 'pdf'"):
        export_scope_changes(conn, "ACME", "pdf")
