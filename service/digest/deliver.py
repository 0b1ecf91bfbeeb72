"""Send each project's digest at most once per ISO week, however many schedulers try.

The `digest_sends` row for (project, week) is claimed in its own committed transaction before SMTP
is touched, so a second process finds the claim and stops. A claim left in "sending" (the process
died mid-send) is never resent automatically: the client may already have the mail, and a
duplicate is worse than a late digest. An operator who has checked can set the row to "failed";
a failed row is retried by the next call with the same Message-ID, so a mail client that did get
the first copy shows one message.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, Literal

from sqlalchemy import insert, null, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from reports.mail import build_message
from service.mailer import Mailer, SendResult
from service.store.schema import digest_sends

log = logging.getLogger(__name__)

Outcome = Literal["sent", "already-sent", "failed", "in-progress"]
# Past this, a "sending" claim is almost surely a crash: say so, but still do not resend.
_STUCK_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class _Claim:
    row_id: int
    message_id: str


def digest_message_id(project_key: str, week: str, mail_from: str) -> str:
    """`<digest.ACME.2026-W47@agency.example>`: the same for every attempt at that digest."""
    _, at, domain = parseaddr(mail_from)[1].rpartition("@")
    domain = domain if at else ""
    return f"<digest.{_atom(project_key)}.{_atom(week)}@{_atom(domain) or 'scopewatch.invalid'}>"


def send_once(
    engine: Engine, mailer: Mailer, d: dict[str, Any], *, to: list[str], now: datetime
) -> Outcome:
    """Send the digest `d` unless this project's digest for its week was sent or is being sent."""
    project_key, week, mail_from = str(d["project"]), str(d["week"]), mailer.mail_from
    message_id = digest_message_id(project_key, week, mail_from)
    # Built before claiming: a rendering error then leaves no claim behind to block the week.
    msg = build_message(d, mail_from=mail_from, to=to, message_id=message_id, date=now)

    claim = _claim(engine, project_key, week, message_id, now)
    if isinstance(claim, str):
        log.info("digest %s %s not sent: %s", project_key, week, claim)
        return claim
    if claim.message_id != message_id:  # a retry keeps the Message-ID of the first attempt
        msg.replace_header("Message-ID", claim.message_id)

    started = time.monotonic()
    result = mailer.send(msg)
    sent_at = now + timedelta(seconds=time.monotonic() - started)
    _record(engine, claim, result, sent_at)
    log.info("digest %s %s: %s", project_key, week, "sent" if result.ok else result.error)
    return "sent" if result.ok else "failed"


def send_again(
    engine: Engine, mailer: Mailer, d: dict[str, Any], *, to: list[str], now: datetime
) -> Outcome:
    """A PM's deliberate resend of a week already sent (or failed): once more, under a new
    Message-ID, since mail clients hide a second message with the id of one they have.

    A week never sent goes out as `send_once` would; one being sent now is left alone.
    """
    project_key, week, mail_from = str(d["project"]), str(d["week"]), mailer.mail_from
    this_week = (digest_sends.c.project_key == project_key) & (digest_sends.c.week == week)
    with engine.connect() as conn:
        row = conn.execute(select(digest_sends).where(this_week)).first()
    if row is None:
        return send_once(engine, mailer, d, to=to, now=now)
    if row.status == "sending":
        return "in-progress"
    first = digest_message_id(project_key, week, mail_from)
    message_id = first.replace("@", f".r{int(now.timestamp())}@", 1)
    msg = build_message(d, mail_from=mail_from, to=to, message_id=message_id, date=now)
    with engine.begin() as conn:
        # Compare-and-set: two PMs pressing "resend" at once send one mail.
        taken = conn.execute(
            update(digest_sends)
            .where(digest_sends.c.id == row.id, digest_sends.c.status == row.status)
            .values(status="sending", message_id=message_id, claimed_at=now, error=None)
        )
    if taken.rowcount != 1:
        return "in-progress"
    result = mailer.send(msg)
    _record(engine, _Claim(row.id, message_id), result, now)
    log.info("digest %s %s resent: %s", project_key, week, "sent" if result.ok else result.error)
    return "sent" if result.ok else "failed"


def _claim(
    engine: Engine, project_key: str, week: str, message_id: str, now: datetime
) -> _Claim | Outcome:
    """Our claim on the row, or why there is none ("already-sent" or "in-progress")."""
    try:
        with engine.begin() as conn:
            inserted = conn.execute(
                insert(digest_sends).values(
                    project_key=project_key,
                    week=week,
                    status="sending",
                    message_id=message_id,
                    claimed_at=now,
                )
            )
            key = inserted.inserted_primary_key
            assert key is not None  # a single-row insert always reports its key
            return _Claim(int(key[0]), message_id)
    except IntegrityError:
        pass  # the row exists: someone sent, is sending, or failed

    this_week = (digest_sends.c.project_key == project_key) & (digest_sends.c.week == week)
    with engine.begin() as conn:
        # Compare-and-set: of two callers retrying a failed send, only one changes the row.
        retried = conn.execute(
            update(digest_sends)
            .where(this_week, digest_sends.c.status == "failed")
            .values(status="sending", claimed_at=now, error=None, refused=null())
        )
        row = conn.execute(select(digest_sends).where(this_week)).one()
    if retried.rowcount == 1:
        return _Claim(row.id, row.message_id)
    if row.status == "sent":
        return "already-sent"
    if now - row.claimed_at > _STUCK_AFTER:
        log.warning(
            "digest %s %s has been 'sending' since %s: not resending; check the mailbox, then "
            "set the digest_sends row to 'failed' to send again",
            project_key,
            week,
            row.claimed_at.isoformat(),
        )
    return "in-progress"


def _record(engine: Engine, claim: _Claim, result: SendResult, sent_at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(digest_sends)
            .where(digest_sends.c.id == claim.row_id)
            .values(
                status="sent" if result.ok else "failed",
                sent_at=sent_at if result.ok else None,
                error=result.error,
                refused=result.refused or null(),  # SQL NULL, not the JSON text 'null'
            )
        )


def _atom(text: str) -> str:
    """Only characters that are safe inside a Message-ID."""
    return re.sub(r"[^A-Za-z0-9.\-]", "", text)
