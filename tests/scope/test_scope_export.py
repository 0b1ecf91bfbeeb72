from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from service.scope.engine import evaluate_issue
from service.scope.export import COLUMNS, export_scope_changes, neutralise
from service.store import schema
from tests.scope.scope_support import MAPPING, NOW, issue_row

ATTACK = "=cmd|' /C calc'!A0"


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
        yield conn


def test_csv_has_the_contracts_columns_and_defuses_formulas(conn):
    data = export_scope_changes(conn, "ACME", "csv")
    assert data.startswith(b"\xef\xbb\xbf")  # so that Excel reads the UTF-8 as UTF-8
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(records[0]) == list(COLUMNS)
    assert [r["summary"] for r in records] == [
        "'" + ATTACK,
        "Größere Übersicht für €-Beträge",
        "'-1+1",
    ]
    assert records[0]["key"] == "ACME-01" and records[0]["cost"] == "800.0"
    assert records[0]["written_back"] == "False"


def test_xlsx_has_no_formula_cells(conn):
    data = export_scope_changes(conn, "ACME", "xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == COLUMNS
    assert [row[1] for row in table[1:]] == [
        "'" + ATTACK,
        "Größere Übersicht für €-Beträge",
        "'-1+1",
    ]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert table[1][5] == 10.0 and table[1][7] == 800.0  # numbers stay numbers


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_empty_project_exports_just_the_header(db, fmt):
    with db.begin() as conn:
        data = export_scope_changes(conn, "ACME", fmt)
    if fmt == "csv":
        assert data.decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]
    else:
        rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
        assert rows == [COLUMNS]


def test_every_dangerous_start_is_neutralised_and_nothing_else():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}SUM(A1)") == f"'{start}SUM(A1)"
    assert neutralise("Plain summary = fine") == "Plain summary = fine"
    assert neutralise(-5.0) == -5.0 and neutralise(None) is None and neutralise("") == ""


def test_an_unknown_format_is_refused(db):
    with db.begin() as conn, pytest.raises(ValueError, match="unknown export format 'pdf'"):
        export_scope_changes(conn, "ACME", "pdf")
