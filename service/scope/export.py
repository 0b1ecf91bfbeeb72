"""The scope change log for spreadsheets: CSV or XLSX, one row per change, as the API lists them.

Summaries are typed by anyone with access to Jira and end up in a client's spreadsheet. A cell
that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Sheets (and openpyxl itself writes `=...` strings as formulas), so such cells get
a leading `'`: the text shows as typed and nothing runs.
"""

from __future__ import annotations

import io
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Connection

from service.scope.changes import list_changes

COLUMNS = (
    "key",
    "summary",
    "issue_type",
    "created",
    "detected_at",
    "hours",
    "hours_source",
    "cost",
    "currency",
    "schedule_days",
    "decision",
    "written_back",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET = "Scope changes"


def export_scope_changes(
    conn: Connection, project_key: str, fmt: Literal["csv", "xlsx"] | str
) -> bytes:
    """The project's live scope changes, oldest first; a header row even when there are none."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}: use csv or xlsx")
    rows = [
        {column: neutralise(change[column]) for column in COLUMNS}
        for change in list_changes(conn, project_key)
    ]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return _csv(frame) if fmt == "csv" else _xlsx(frame)


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would evaluate, made inert; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(frame: pd.DataFrame) -> bytes:
    # A byte-order mark, or Excel reads UTF-8 as Windows-1252 and mangles every "é" and "€".
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=SHEET)
    return buffer.getvalue()
