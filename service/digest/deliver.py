"""Send each project's digest at most once per ISO week and recipient, however many schedulers try.

Every recipient gets a message of their own (their own feedback and decision links, their own
Message-ID). Each one's `digest_recipients` row is claimed in its own committed transaction
before SMTP is touched, so a second process finds the claim and passes that recipient by, and a
process killed after recipient 1 of 3 leaves 2 and 3 for the next attempt. A claim left in
"sending" (the process died mid-send) is never resent automatically: that recipient may already
have the mail, and a duplicate is worse than a late digest. An operator who has checked can set
the row to "failed"; a failed row is retried by the next call with the same Message-ID, so a mail
client that did get the first copy shows one message.

The week's `digest_sends` row is its summary for the cockpit and the scheduler: "sent" once every
recipient has the digest, "failed" while one of them was refused, "sending" otherwise. A week sent
before each recipient had a row of their own (migration 0011) keeps its summary and is not sent
again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Literal

from sqlalchemy import Connection, insert, null, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from reports.mail import build_message
from service.mailer import Mailer, SendResult
from service.store.engine import insert_ignore, upsert
from service.store.schema import digest_recipients, digest_sends

log = logging.getLogger(__name__)

Outcome = Literal["sent", "already-sent", "failed", "in-progress"]
# The digest as one recipient gets it (their own links); by default the same for everyone.
Addressed = Callable[[str], dict[str, Any]]
# Past this, a "sending" claim is almost surely a crash: say so, but still do not resend.
_STUCK_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class _Claim:
    row_id: int
    message_id: str


def digest_message_id(project_key: str, week: str, mail_from: str) -> str:
    """`<digest.ACME.2026-W47@agency.example>`: the week's id, which previews and resends vary."""
    _, at, domain = parseaddr(mail_from)[1].rpartition("@")
    domain = domain if at else ""
    return f"<digest.{_atom(project_key)}.{_atom(week)}@{_atom(domain) or 'scopewatch.invalid'}>"


def recipient_message_id(project_key: str, week: str, recipient: str, mail_from: str) -> str:
    """`<digest.ACME.2026-W47.3f9a0c2e1b@agency.example>`: one recipient's copy of the week's
    digest, the same for every attempt; the address itself stays out of the header."""
    tag = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:10]
    return digest_message_id(project_key, week, mail_from).replace("@", f".{tag}@", 1)


def send_once(
    engine: Engine,
    mailer: Mailer,
    d: dict[str, Any],
    *,
    to: list[str],
    now: datetime,
    addressed: Addressed | None = None,
) -> Outcome:
    """Send the digest `d` (as `addressed(recipient)` makes it for each) to every recipient of
    `to` who has not had it, is not being sent it, and whose week is not already sent.

    "sent" when every recipient has it now, "failed" when one was refused (the others still
    went), "in-progress" when one is being sent by another process, "already-sent" when no one
    needed it.
    """
    recipients = _distinct(to)
    if not recipients:
        raise ValueError("a digest needs at least one recipient")
    project_key, week = str(d["project"]), str(d["week"])
    earlier = _week_sent_before(engine, project_key, week, now)
    if earlier is not None:
        log.info("digest %s %s not sent: %s", project_key, week, earlier)
        return earlier
    outcomes = []
    for recipient in recipients:
        mine = addressed(recipient) if addressed is not None else d
        outcomes.append(_send_to(engine, mailer, mine, recipient, now))
        _summarise(engine, project_key, week, recipients)  # true after each: a crash may follow
    return _overall(outcomes)


def send_again(
    engine: Engine,
    mailer: Mailer,
    d: dict[str, Any],
    *,
    to: list[str],
    now: datetime,
    addressed: Addressed | None = None,
) -> Outcome:
    """A PM's deliberate resend of a week already sent (or failed): once more to each recipient,
    under new Message-IDs, since mail clients hide a second message with the id of one they have.

    A week never sent goes out as `send_once` would; one being sent now is left alone.
    """
    recipients = _distinct(to)
    project_key, week = str(d["project"]), str(d["week"])
    this_week = (digest_sends.c.project_key == project_key) & (digest_sends.c.week == week)
    with engine.connect() as conn:
        row = conn.execute(select(digest_sends).where(this_week)).first()
    if row is None:
        return send_once(engine, mailer, d, to=to, now=now, addressed=addressed)
    if row.status == "sending":
        return "in-progress"
    again = f".r{int(now.timestamp())}@"
    # Built before the row is taken: a rendering error leaves the week as it was.
    messages = build_each(
        mailer,
        recipients,
        lambda r: addressed(r) if addressed is not None else d,
        lambda r: recipient_message_id(project_key, week, r, mailer.mail_from).replace(
            "@", again, 1
        ),
        now,
    )
    with engine.begin() as conn:
        # Compare-and-set: two PMs pressing "resend" at once send one mail to each recipient.
        taken = conn.execute(
            update(digest_sends)
            .where(digest_sends.c.id == row.id, digest_sends.c.status == row.status)
            .values(status="sending", claimed_at=now, error=None)
        )
    if taken.rowcount != 1:
        return "in-progress"
    results = send_each(mailer, messages)
    with engine.begin() as conn:
        for recipient, (message_id, result) in results.items():
            _upsert_recipient(conn, project_key, week, recipient, message_id, result, now)
    _summarise(engine, project_key, week, recipients)
    log.info("digest %s %s resent to %d recipient(s)", project_key, week, len(results))
    return _overall(["sent" if result.ok else "failed" for _, result in results.values()])


def mail_each(
    mailer: Mailer,
    recipients: list[str],
    digest_for: Addressed,
    message_id_for: Callable[[str], str],
    now: datetime,
) -> dict[str, tuple[str, SendResult]]:
    """Each recipient's own message, sent without a claim: for deliberate resends only.

    Every message is built before the first goes, so a rendering error sends nothing.
    """
    return send_each(mailer, build_each(mailer, recipients, digest_for, message_id_for, now))


def build_each(
    mailer: Mailer,
    recipients: list[str],
    digest_for: Addressed,
    message_id_for: Callable[[str], str],
    now: datetime,
) -> dict[str, EmailMessage]:
    return {
        r: build_message(
            digest_for(r),
            mail_from=mailer.mail_from,
            to=[r],
            message_id=message_id_for(r),
            date=now,
        )
        for r in _distinct(recipients)
    }


def send_each(
    mailer: Mailer, messages: dict[str, EmailMessage]
) -> dict[str, tuple[str, SendResult]]:
    """recipient → (the Message-ID sent under, what the server did)."""
    return {r: (str(msg["Message-ID"]), mailer.send(msg)) for r, msg in messages.items()}


def recipient_rows(conn: Connection, project_key: str, week: str) -> list[dict[str, Any]]:
    """Each recipient's copy of the week's digest, in the order they were claimed."""
    dr = digest_recipients.c
    rows = conn.execute(
        select(digest_recipients)
        .where(dr.project_key == project_key, dr.week == week)
        .order_by(dr.id)
    ).mappings()
    return [dict(row) for row in rows]


def waiting_recipients(
    conn: Connection, project_key: str, week: str, recipients: list[str]
) -> list[str]:
    """Those of `recipients` a send would mail now: no claim yet, or a failed one."""
    by = {r["recipient"]: r["status"] for r in recipient_rows(conn, project_key, week)}
    return [r for r in _distinct(recipients) if by.get(r, "failed") == "failed"]


def _send_to(
    engine: Engine, mailer: Mailer, d: dict[str, Any], recipient: str, now: datetime
) -> Outcome:
    project_key, week, mail_from = str(d["project"]), str(d["week"]), mailer.mail_from
    message_id = recipient_message_id(project_key, week, recipient, mail_from)
    # Built before claiming: a rendering error then leaves no claim behind to block the week.
    msg = build_message(d, mail_from=mail_from, to=[recipient], message_id=message_id, date=now)

    week_id = digest_message_id(project_key, week, mail_from)
    claim = _claim(engine, project_key, week, recipient, (message_id, week_id), now)
    if isinstance(claim, str):
        log.info("digest %s %s to %s not sent: %s", project_key, week, recipient, claim)
        return claim
    if claim.message_id != message_id:  # a retry keeps the Message-ID of the first attempt
        msg.replace_header("Message-ID", claim.message_id)

    started = time.monotonic()
    result = mailer.send(msg)
    sent_at = now + timedelta(seconds=time.monotonic() - started)
    _record(engine, claim, result, sent_at)
    log.info(
        "digest %s %s to %s: %s",
        project_key,
        week,
        recipient,
        "sent" if result.ok else result.error,
    )
    return "sent" if result.ok else "failed"


def _week_sent_before(engine: Engine, project_key: str, week: str, now: datetime) -> Outcome | None:
    """Why the week needs no more mail: sent to everyone, or a send from before 0011 that was
    left "sending" (whom it reached is unknown, so no one is mailed again); else None."""
    this_week = (digest_sends.c.project_key == project_key) & (digest_sends.c.week == week)
    with engine.connect() as conn:
        row = conn.execute(select(digest_sends).where(this_week)).first()
        if row is None or row.status == "failed":
            return None
        if row.status == "sent":
            return "already-sent"
        if recipient_rows(conn, project_key, week):
            return None  # each recipient's own claim decides
    _warn_if_stuck(project_key, week, "everyone", row.claimed_at, now)
    return "in-progress"


def _claim(
    engine: Engine,
    project_key: str,
    week: str,
    recipient: str,
    ids: tuple[str, str],
    now: datetime,
) -> _Claim | Outcome:
    """Our claim on this recipient's row, or why there is none ("already-sent", "in-progress").

    `ids`: the Message-IDs of this recipient's copy and of the week.
    """
    message_id, week_id = ids
    try:
        with engine.begin() as conn:
            inserted = conn.execute(
                insert(digest_recipients).values(
                    project_key=project_key,
                    week=week,
                    recipient=recipient,
                    status="sending",
                    message_id=message_id,
                    claimed_at=now,
                )
            )
            key = inserted.inserted_primary_key
            assert key is not None  # a single-row insert always reports its key
            # The week's summary row, made with its first claim (so a week row without any
            # recipient rows is one from before 0011).
            summary = {
                "project_key": project_key,
                "week": week,
                "status": "sending",
                "message_id": week_id,
                "claimed_at": now,
            }
            insert_ignore(conn, digest_sends, summary, conflict=["project_key", "week"])
            return _Claim(int(key[0]), message_id)
    except IntegrityError:
        pass  # the row exists: someone sent, is sending, or failed

    dr = digest_recipients.c
    mine = (dr.project_key == project_key) & (dr.week == week) & (dr.recipient == recipient)
    with engine.begin() as conn:
        # Compare-and-set: of two callers retrying a failed send, only one changes the row.
        retried = conn.execute(
            update(digest_recipients)
            .where(mine, dr.status == "failed")
            .values(status="sending", claimed_at=now, error=None)
        )
        row = conn.execute(select(digest_recipients).where(mine)).one()
    if retried.rowcount == 1:
        return _Claim(row.id, row.message_id)
    if row.status == "sent":
        return "already-sent"
    _warn_if_stuck(project_key, week, recipient, row.claimed_at, now)
    return "in-progress"


def _warn_if_stuck(
    project_key: str, week: str, recipient: str, claimed_at: datetime, now: datetime
) -> None:
    if now - claimed_at > _STUCK_AFTER:
        log.warning(
            "digest %s %s to %s has been 'sending' since %s: not resending; check the mailbox, "
            "then set its digest_recipients (or, before 0011, digest_sends) row to 'failed' to "
            "send again",
            project_key,
            week,
            recipient,
            claimed_at.isoformat(),
        )


def _record(engine: Engine, claim: _Claim, result: SendResult, sent_at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(digest_recipients)
            .where(digest_recipients.c.id == claim.row_id)
            .values(
                status="sent" if result.ok else "failed",
                sent_at=sent_at if result.ok else None,
                error=result.error,
            )
        )


def _upsert_recipient(
    conn: Connection,
    project_key: str,
    week: str,
    recipient: str,
    message_id: str,
    result: SendResult,
    now: datetime,
) -> None:
    row = {
        "project_key": project_key,
        "week": week,
        "recipient": recipient,
        "status": "sent" if result.ok else "failed",
        "message_id": message_id,
        "claimed_at": now,
        "sent_at": now if result.ok else None,
        "error": result.error,
    }
    upsert(conn, digest_recipients, row, key=["project_key", "week", "recipient"])


def _summarise(engine: Engine, project_key: str, week: str, recipients: list[str]) -> None:
    """The week's row from its recipients' rows: sent once all of `recipients` have it."""
    with engine.begin() as conn:
        by = {r["recipient"]: r for r in recipient_rows(conn, project_key, week)}
        mine = [by[r] for r in recipients if r in by]
        failed = [r for r in mine if r["status"] == "failed"]
        everyone = len(mine) == len(recipients) and all(r["status"] == "sent" for r in mine)
        status = "sent" if everyone else "failed" if failed else "sending"
        conn.execute(
            update(digest_sends)
            .where(digest_sends.c.project_key == project_key, digest_sends.c.week == week)
            .values(
                status=status,
                # The latest attempt: the scheduler waits a while after a failed one.
                claimed_at=max((r["claimed_at"] for r in mine), default=None)
                or digest_sends.c.claimed_at,
                sent_at=max(r["sent_at"] for r in mine) if everyone else None,
                error="; ".join(f"{r['recipient']}: {r['error']}" for r in failed) or None,
                # The failed recipients and why, as the cockpit shows them.
                refused={r["recipient"]: r["error"] for r in failed} or null(),
            )
        )


def _overall(outcomes: list[Outcome]) -> Outcome:
    """The worst of the recipients' outcomes: one refusal makes the week "failed"."""
    if "failed" in outcomes:
        return "failed"
    if "in-progress" in outcomes:
        return "in-progress"
    return "sent" if "sent" in outcomes else "already-sent"


def _distinct(addresses: list[str]) -> list[str]:
    """The addresses in order, each once: one person listed twice gets one mail."""
    return list(dict.fromkeys(a.strip() for a in addresses if a.strip()))


def _atom(text: str) -> str:
    """Only characters that are safe inside a Message-ID."""
    return re.sub(r"[^A-Za-z0-9.\-]", "", text)
