"""What became of a week's digest besides a client send: previews, skipped weeks, resends.

This module writes `digest_notices`. A *preview* is the digest mailed to the project's `pm`
addresses while the project is in observe mode, marked as such in its subject and on top of its
text and HTML. A *skip* is a week the client will not get, with why; the PM addresses are told once
by mail (except for observe mode, whose preview already said so). A *resend* is an operator sending
a sent week again on purpose (`digest send --resend`), with who did it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from reports.mail import build_message
from service.digest.deliver import digest_message_id
from service.mailer import Mailer
from service.store.engine import insert_ignore
from service.store.schema import digest_notices

log = logging.getLogger(__name__)

PREVIEW, SKIP, RESEND = "preview", "skip", "resend"
PREVIEW_BANNER = (
    "PREVIEW for the agency only: {key} is in observe mode, so the client did not get this "
    "digest. Check it, then run `scopewatch project go-live {key}`."
)


def find(conn: Connection, project_key: str, week: str, kind: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(digest_notices)
            .where(
                digest_notices.c.project_key == project_key,
                digest_notices.c.week == week,
                digest_notices.c.kind == kind,
            )
            .order_by(digest_notices.c.id)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def listed(conn: Connection, project_key: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(digest_notices)
        .where(digest_notices.c.project_key == project_key)
        .order_by(digest_notices.c.id.desc())
        .limit(limit)
    ).mappings()
    return [dict(row) for row in rows]


def record(
    engine: Engine,
    project_key: str,
    week: str,
    kind: str,
    reason: str,
    now: datetime,
    *,
    by: str | None = None,
) -> int | None:
    """The notice's id; None when a preview or skip of this week was already claimed (by this
    process or another one at the same instant), which then sends nothing."""
    row = {"project_key": project_key, "week": week, "kind": kind, "reason": reason, "at": now}
    with engine.begin() as conn:
        if kind == RESEND:  # on purpose, as often as asked
            inserted = conn.execute(insert(digest_notices).values(**row, by=by))
            key = inserted.inserted_primary_key
            assert key is not None
            return int(key[0])
        once = f"{kind}:{project_key}:{week}"
        if not insert_ignore(conn, digest_notices, {**row, "once": once}, conflict=["once"]):
            return None
        return int(
            conn.execute(
                select(digest_notices.c.id).where(digest_notices.c.once == once)
            ).scalar_one()
        )


def mailed(engine: Engine, notice_id: int, to: list[str], error: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(digest_notices)
            .where(digest_notices.c.id == notice_id)
            .values(mailed_to=to, error=error)
        )


def preview_message(
    d: dict[str, Any], *, mail_from: str, to: list[str], now: datetime
) -> EmailMessage:
    """The client's digest, addressed to the PM and marked as a preview everywhere it shows."""
    key, week = str(d["project"]), str(d["week"])
    message_id = digest_message_id(key, week, mail_from).replace("<digest.", "<preview.", 1)
    msg = build_message(d, mail_from=mail_from, to=to, message_id=message_id, date=now)
    subject = str(msg["Subject"])
    msg.replace_header("Subject", f"[Preview] {subject}")
    banner = PREVIEW_BANNER.format(key=key)
    for part in msg.walk():
        if not isinstance(part, EmailMessage) or part.is_multipart():
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            part.set_content(
                f"{banner}\n\n{part.get_content()}", charset="utf-8", cte="quoted-printable"
            )
        elif kind == "text/html":
            html = str(part.get_content())
            box = (
                '<div style="background:#fff3cd;border:1px solid #e0b400;padding:12px;'
                f'margin:0 0 16px 0;font-family:sans-serif"><strong>{banner}</strong></div>'
            )
            at = html.find(">", html.find("<body")) + 1 if "<body" in html else 0
            part.set_content(
                html[:at] + box + html[at:], subtype="html", charset="utf-8", cte="quoted-printable"
            )
    return msg


def send_preview(
    engine: Engine, mailer: Mailer, d: dict[str, Any], *, to: list[str], now: datetime
) -> str:
    key, week = str(d["project"]), str(d["week"])
    msg = preview_message(d, mail_from=mailer.mail_from, to=to, now=now)  # built before recording
    notice = record(engine, key, week, PREVIEW, "observe mode: previewed to the PM only", now)
    if notice is None:
        return "previewed"  # another process has it
    result = mailer.send(msg)
    mailed(engine, notice, to, result.error)
    log.info(
        "digest %s %s: preview to the PM %s",
        key,
        week,
        "sent" if result.ok else f"failed: {result.error}",
        extra={"project": key},
    )
    return "preview-sent" if result.ok else "preview-failed"


def record_skip(
    engine: Engine,
    mailer: Mailer | None,
    *,
    project_key: str,
    week: str,
    reason: str,
    pm: list[str],
    tell_pm: bool,
    now: datetime,
) -> None:
    """A week the client will not get: recorded, logged, and the PM told once by mail."""
    notice = record(engine, project_key, week, SKIP, reason, now)
    if notice is None:
        return  # another process recorded it, and told the PM
    log.warning(
        "digest %s %s skipped: %s", project_key, week, reason, extra={"project": project_key}
    )
    if not tell_pm or not pm or mailer is None:
        return
    result = mailer.send(skip_message(project_key, week, reason, mailer.mail_from, pm, now))
    mailed(engine, notice, pm, result.error)


def skip_message(
    project_key: str, week: str, reason: str, mail_from: str, to: list[str], now: datetime
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[scopewatch] {project_key}: no client digest for {week}"
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or "scopewatch.invalid")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        f"The client's digest of {project_key} for {week} was not sent: {reason}.\n\n"
        f"`scopewatch project status {project_key}` shows every week and why. To send this "
        f"week anyway: scopewatch digest send --project {project_key} --week {week} --resend\n",
        charset="utf-8",
    )
    return msg
