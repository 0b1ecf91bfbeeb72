"""The client's daily note of newly flagged scope changes, as an e-mail (`notify_client_on_flag`).

Plain data in (`notice`: the project, its client, currency and locale, the day, and the changes,
each with its key, summary, hours, billing price, Jira link and signed approve/reject links), a
MIME message out. Only what the client is billed shows: a cost rate or a margin is never in the
data, so it cannot reach the mail. Display rules are the digest's (`reports.render`): ticket text
made single-line, links only when they are http(s), the HTML escaped.
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from reports.render import _clean, _decisions, _env, _safe_link, _Show


def notice_subject(notice: Mapping[str, Any]) -> str:
    """`[ACME] 2 new scope changes await your decision`: one line, whatever the data holds."""
    count = len(_changes(notice, _Show.of(notice, None)))
    what = "1 new scope change awaits" if count == 1 else f"{count} new scope changes await"
    return _clean(f"[{_clean(notice.get('project'))}] {what} your decision")


def render_notice_text(notice: Mapping[str, Any]) -> str:
    return _env.get_template("flag_notice.txt").render(v=_view(notice))


def render_notice_html(notice: Mapping[str, Any]) -> str:
    return _env.get_template("flag_notice.html").render(v=_view(notice))


def notice_message(
    notice: Mapping[str, Any], *, mail_from: str, to: str, message_id: str, date: datetime
) -> EmailMessage:
    """The note to one recipient (its links name that recipient), text and HTML alike."""
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    msg["Subject"] = notice_subject(notice)
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away
    # Quoted-printable keeps the long signed links under SMTP's line limit.
    msg.set_content(
        render_notice_text(notice), subtype="plain", charset="utf-8", cte="quoted-printable"
    )
    msg.add_alternative(
        render_notice_html(notice), subtype="html", charset="utf-8", cte="quoted-printable"
    )
    return msg


def _view(notice: Mapping[str, Any]) -> dict[str, Any]:
    show = _Show.of(notice, None)
    day = notice.get("day")
    return {
        "subject": notice_subject(notice),
        "project": _clean(notice.get("project")),
        "client": _clean(notice.get("client")) or _clean(notice.get("project")),
        "day": show.date(day) if day else "",
        "changes": _changes(notice, show),
    }


def _changes(notice: Mapping[str, Any], show: _Show) -> list[dict[str, Any]]:
    """The digest's rows of changes to decide (a change without both links is left out), each
    with its Jira link when there is a safe one."""
    changes = notice.get("changes") or []
    jira = {_clean(c.get("key")): _safe_link(c.get("jira")) for c in changes}
    return [{**row, "jira": jira.get(row["key"])} for row in _decisions(changes, show)]
