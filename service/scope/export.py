"""The scope change log for spreadsheets: CSV or XLSX, one row per change, as the API lists them.

Written for the person who opens it: headers in words, times in the project's time zone as real
date cells (XLSX) or `YYYY-MM-DD HH:MM` (CSV, which every spreadsheet reads as a date), money as
number cells with the currency's format, each issue linked to Jira, and the decision in force with
who took it, when, through which channel and why. The XLSX adds a totals row and a second sheet
with every decision ever taken (the audit trail).

Summaries are typed by anyone with access to Jira and end up in a client's spreadsheet. A cell
that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Sheets (and openpyxl itself writes `=...` strings as formulas), so such cells get
a leading `'`: the text shows as typed and nothing runs. For the same reason the totals are
values, not formulas: the file holds no formula at all.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl.styles import Font
from sqlalchemy import Connection

from service.scope.audit import project_trail
from service.scope.changes import list_changes

# (header, how to get the cell from a change's JSON); `None` getters are filled in below.
COLUMNS = (
    "Issue",
    "Summary",
    "Type",
    "Created in Jira",
    "Flagged by scopewatch",
    "Hours",
    "Hours from",
    "Cost",
    "Currency",
    "Delay (working days)",
    "Decision",
    "Decided at",
    "Decided by",
    "Decided through",
    "Decision note",
    "Written to Jira",
    "Link",
)
DATE_COLUMNS = ("Created in Jira", "Flagged by scopewatch", "Decided at")
TRAIL_COLUMNS = ("Issue", "At", "From", "To", "Decided by", "Decided through", "Note")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET = "Scope changes"
TRAIL_SHEET = "Decisions"
TOTAL_LABEL = "Total, approved and pending"
DATE_FORMAT = "yyyy-mm-dd hh:mm"
CSV_DATE = "%Y-%m-%d %H:%M"

DECISION_WORDS = {
    "pending": "Pending",
    "approved": "Approved",
    "rejected": "Rejected",
    "not-scope": "Not scope (agreed work)",
}
CHANNEL_WORDS = {
    "jira": "Jira label",
    "api": "Admin API",
    "cli": "Command line",
    "web": "Cockpit",
    "email": "Client's e-mail link",
}
SOURCE_WORDS = {
    "estimate": "Original estimate",
    "story_points": "Story points",
    "default": "Default for the type",
    "none": "Needs an estimate",
}


def export_scope_changes(
    conn: Connection,
    project_key: str,
    fmt: Literal["csv", "xlsx"] | str,
    *,
    tz: str = "UTC",
    jira_url: str | None = None,
) -> bytes:
    """The project's live scope changes, oldest first; a header row even when there are none.

    Times are shown in `tz` (the project's digest zone); `jira_url` makes each issue a link.
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}: use csv or xlsx")
    zone = ZoneInfo(tz)
    changes = list_changes(conn, project_key)
    rows = [_row(change, zone, jira_url) for change in changes]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if fmt == "csv":
        return _csv(frame)
    trail = [_trail_row(entry, zone) for entry in project_trail(conn, project_key)]
    return _xlsx(frame, pd.DataFrame(trail, columns=list(TRAIL_COLUMNS)), changes, jira_url)


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would evaluate, made inert; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def issue_link(jira_url: str | None, key: str) -> str | None:
    return f"{jira_url.rstrip('/')}/browse/{key}" if jira_url else None


def _row(change: dict[str, Any], zone: ZoneInfo, jira_url: str | None) -> dict[str, Any]:
    def when(name: str) -> datetime | None:
        return _local(change[name], zone)

    decision, channel = change["decision"], change.get("decision_channel")
    values = {
        "Issue": change["key"],
        "Summary": change["summary"],
        "Type": change["issue_type"],
        "Created in Jira": when("created"),
        "Flagged by scopewatch": when("detected_at"),
        "Hours": change["hours"],
        "Hours from": SOURCE_WORDS.get(change["hours_source"], change["hours_source"]),
        "Cost": change["cost"],
        "Currency": change["currency"],
        "Delay (working days)": change["schedule_days"],
        "Decision": DECISION_WORDS.get(decision, decision),
        "Decided at": when("decided_at"),
        "Decided by": change.get("decided_by"),
        "Decided through": CHANNEL_WORDS.get(channel, channel) if channel else None,
        "Decision note": change.get("decision_note"),
        "Written to Jira": "yes" if change["written_back"] else "not yet",
        "Link": issue_link(jira_url, change["key"]),
    }
    return {name: neutralise(value) for name, value in values.items()}


def _trail_row(entry: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    channel = entry["channel"]
    values = {
        "Issue": entry["issue_key"],
        "At": _local(entry["at"], zone),
        "From": DECISION_WORDS.get(entry["from_decision"], entry["from_decision"]),
        "To": DECISION_WORDS.get(entry["to_decision"], entry["to_decision"]),
        "Decided by": entry["decided_by"],
        "Decided through": CHANNEL_WORDS.get(channel, channel),
        "Note": entry["note"],
    }
    return {name: neutralise(value) for name, value in values.items()}


def _local(value: str | datetime | None, zone: ZoneInfo) -> datetime | None:
    """The time in the project's zone, without a zone: spreadsheets have none."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).replace(tzinfo=None)


def _csv(frame: pd.DataFrame) -> bytes:
    # A byte-order mark, or Excel reads UTF-8 as Windows-1252 and mangles every "é" and "€".
    # Money with its cents, dates as every spreadsheet parses them.
    shown = frame.copy()
    shown["Cost"] = [_cents(v) for v in shown["Cost"]]
    for column in DATE_COLUMNS:
        shown[column] = [_csv_date(v) for v in shown[column]]
    return shown.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _cents(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.2f}"


def _csv_date(value: Any) -> str:
    return "" if value is None or pd.isna(value) else value.strftime(CSV_DATE)


def _xlsx(
    frame: pd.DataFrame,
    trail: pd.DataFrame,
    changes: list[dict[str, Any]],
    jira_url: str | None,
) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=SHEET)
        trail.to_excel(writer, index=False, sheet_name=TRAIL_SHEET)
        sheet = writer.sheets[SHEET]
        _format(sheet, len(frame), changes, jira_url)
        _format_dates(writer.sheets[TRAIL_SHEET], TRAIL_COLUMNS, ("At",), len(trail))
    return buffer.getvalue()


def _format(sheet: Any, count: int, changes: list[dict[str, Any]], jira_url: str | None) -> None:
    col = {name: i + 1 for i, name in enumerate(COLUMNS)}
    _format_dates(sheet, COLUMNS, DATE_COLUMNS, count)
    for n, change in enumerate(changes, start=2):
        sheet.cell(row=n, column=col["Cost"]).number_format = _money_format(change["currency"])
        sheet.cell(row=n, column=col["Hours"]).number_format = "0.0"
        link = issue_link(jira_url, change["key"])
        if link:
            sheet.cell(row=n, column=col["Issue"]).hyperlink = link
            sheet.cell(row=n, column=col["Link"]).hyperlink = link
    counted = [c for c in changes if c["decision"] in ("approved", "pending")]
    total = count + 3  # one empty row between the changes and their total
    sheet.cell(row=total, column=1, value=TOTAL_LABEL)
    hours = round(sum(c["hours"] or 0.0 for c in counted), 1)
    sheet.cell(row=total, column=col["Hours"], value=hours)
    sheet.cell(row=total, column=col["Hours"]).number_format = "0.0"
    currencies = {c["currency"] for c in counted}
    if len(currencies) <= 1:  # a project has one currency; never add up two
        cost = round(sum(c["cost"] or 0.0 for c in counted), 2)
        cell = sheet.cell(row=total, column=col["Cost"], value=cost)
        cell.number_format = _money_format(next(iter(currencies), ""))
        if currencies:
            sheet.cell(row=total, column=col["Currency"], value=next(iter(currencies)))
    unpriced = sum(1 for c in counted if c["hours"] is None)
    if unpriced:
        sheet.cell(row=total, column=col["Summary"], value=f"{unpriced} without an estimate")
    for cell in sheet[total]:
        cell.font = Font(bold=True)
    for name, width in (("Summary", 48), ("Decision note", 40), ("Link", 36)):
        letter = sheet.cell(row=1, column=col[name]).column_letter
        sheet.column_dimensions[letter].width = width


def _format_dates(sheet: Any, columns: tuple[str, ...], dated: tuple[str, ...], count: int) -> None:
    for name in dated:
        column = columns.index(name) + 1
        for n in range(2, count + 2):
            sheet.cell(row=n, column=column).number_format = DATE_FORMAT
        letter = sheet.cell(row=1, column=column).column_letter
        sheet.column_dimensions[letter].width = 17


def _money_format(currency: str) -> str:
    return f'#,##0.00 "{currency}"' if currency else "#,##0.00"
