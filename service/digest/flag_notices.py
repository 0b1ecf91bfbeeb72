"""The client's daily note of newly flagged scope changes: the mapping's `notify_client_on_flag`.

Once a day per project (a day in its digest zone, from its digest hour on), while the project is
live and the key is on, each digest recipient (`digest.to`) gets one message of its own listing
the pending changes not yet listed to them, each with its price (what the client is billed),
hours, Jira link and approve/reject links naming that recipient. Nothing new: no mail.

Observe mode mails nothing at all, not even a preview to `pm`: the PM's weekly digest preview and
the cockpit already show every pending change, and a daily preview would only be noise. On going
live, the first note lists every pending change no note has listed yet.

Sent once: the `flag_notices` row of (project, day, recipient) is claimed, with the changes it
lists, in its own committed transaction before SMTP is touched. A second worker finds the claim
and stops; a process killed between sending and recording leaves the claim "sending", which is
never sent again, and its changes count as listed (a duplicate is worse than a missed note: the
weekly digest lists every pending change anyway). A send the server refused ("failed") is tried
again by a later round that day under the same Message-ID; a day that ends failed leaves its
changes to the next day's note. This module is the only writer of `flag_notices`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select, update

from mappings.model import Project
from reports.flag_notice import notice_message
from reports.rates import local_day
from service.digest.decision_links import decision_secret, links_for
from service.digest.deliver import digest_message_id
from service.mailer import SendResult
from service.projects.modes import is_live
from service.runtime import Paced, Runtime
from service.scope.changes import pending_changes
from service.scope.export import issue_link
from service.scope.model import ScopeChange
from service.store.engine import insert_ignore, reader
from service.store.schema import flag_notices

log = logging.getLogger(__name__)
_n = flag_notices.c

SENDING, SENT, FAILED = "sending", "sent", "failed"


@dataclass(frozen=True)
class Noted:
    """A note claimed for one recipient: its day, what became of it, and the changes it listed."""

    day: date
    recipient: str
    status: str
    change_ids: tuple[int, ...]


# --- what is due: pure --------------------------------------------------------------------------


def not_yet_listed(
    pending: Sequence[ScopeChange], noted: Sequence[Noted], recipient: str
) -> list[ScopeChange]:
    """The pending changes no note to `recipient` has listed: one that went, or may have gone
    (a claim left "sending" by a crash counts as gone)."""
    listed = {
        change_id
        for note in noted
        if note.recipient == recipient and note.status != FAILED
        for change_id in note.change_ids
    }
    return [change for change in pending if change.id not in listed]


def notes_due(
    project: Project,
    *,
    live: bool,
    pending: Sequence[ScopeChange],
    noted: Sequence[Noted],
    now: datetime,
) -> dict[str, list[ScopeChange]]:
    """Each recipient due a note at `now`, with the changes it lists (in the order flagged).

    None unless the key is on and the project live; none before the project's digest hour in its
    zone (the day's changes are batched into one note, not mailed as the first one comes); none
    to a recipient whose note of today was sent or is being sent.
    """
    if not (project.notify_client_on_flag and live):
        return {}
    if now.astimezone(ZoneInfo(project.digest.tz)).hour < project.digest.hour:
        return {}
    today = local_day(now, project)
    due: dict[str, list[ScopeChange]] = {}
    for recipient in project.digest.to:
        if any(n.recipient == recipient and n.day == today and n.status != FAILED for n in noted):
            continue
        changes = not_yet_listed(pending, noted, recipient)
        if changes:
            due[recipient] = changes
    return due


# --- the worker's round -------------------------------------------------------------------------


def run_flag_notices(rt: Runtime, now: datetime) -> int:
    """Mail every note due at `now`; returns how many messages the server took."""
    if rt.mailer is None:
        return 0
    mailed = 0
    for project in rt.mapping.projects:
        if not (project.notify_client_on_flag and project.digest.to):
            continue
        try:
            mailed += _notify(rt, project, now)
        except Exception:  # one project's broken data must not stop the others' notes
            log.exception("flag notes of %s failed", project.key, extra={"project": project.key})
    return mailed


class PacedFlagNotices(Paced):
    """`run_flag_notices` for the worker loop's idle hook, at the budget alerts' pace."""

    def __init__(self, rt: Runtime, every: timedelta = timedelta(minutes=10)) -> None:
        super().__init__(rt, run_flag_notices, every=every, name="flag notes")


def noted_of(conn: Connection, project_key: str) -> list[Noted]:
    rows = conn.execute(
        select(_n.day, _n.recipient, _n.status, _n.change_ids).where(_n.project_key == project_key)
    ).all()
    return [Noted(day, recipient, status, tuple(ids)) for day, recipient, status, ids in rows]


def _notify(rt: Runtime, project: Project, now: datetime) -> int:
    with reader(rt.engine) as conn:
        live = is_live(conn, project.key)
        if not live:
            return 0  # observe mode: no note to anyone (see the module's docstring)
        pending = pending_changes(conn, project.key)
        noted = noted_of(conn, project.key)
    due = notes_due(project, live=live, pending=pending, noted=noted, now=now)
    if due and decision_secret(rt) is None:
        log.warning(
            "flag note of %s not mailed: without SCOPEWATCH_SECRET_KEY it has no decision links",
            project.key,
            extra={"project": project.key},
        )
        return 0
    return sum(_send_note(rt, project, to, changes, now) for to, changes in due.items())


def _send_note(
    rt: Runtime, project: Project, to: str, changes: list[ScopeChange], now: datetime
) -> int:
    assert rt.mailer is not None
    day = local_day(now, project)
    message_id = note_message_id(project.key, day, to, rt.mailer.mail_from)
    # Built before claiming: a rendering error then leaves no claim behind to block the day.
    notice = note_for(rt, project, to, changes, day, now)
    msg = notice_message(
        notice, mail_from=rt.mailer.mail_from, to=to, message_id=message_id, date=now
    )
    claim = _claim(rt.engine, project.key, day, to, [c.id for c in changes], message_id, now)
    if claim is None:
        return 0  # another worker has it
    result = rt.mailer.send(msg)
    _record(rt.engine, claim, result, now)
    if result.ok:
        log.info(
            "flag note %s %s: %d changes", project.key, day.isoformat(), len(changes),
            extra={"project": project.key},
        )  # fmt: skip
        return 1
    log.warning(
        "flag note %s %s not sent (tried again within the day): %s",
        project.key, day.isoformat(), result.error,
        extra={"project": project.key},
    )  # fmt: skip
    return 0


def note_for(
    rt: Runtime,
    project: Project,
    to: str,
    changes: list[ScopeChange],
    day: date,
    now: datetime,
) -> dict[str, Any]:
    """The plain data `reports.flag_notice` renders: billing prices only, links naming `to`."""
    rows = []
    for change in changes:
        links = links_for(rt, change, [to], now=now) or {}
        rows.append(
            {
                "key": change.key,
                "summary": change.summary,
                "hours": change.hours,
                "cost": change.cost,  # the price billed: hours at the billing rate
                "jira": issue_link(rt.settings.jira_url, change.key),
                **links,
            }
        )
    return {
        "project": project.key,
        "client": project.client,
        "currency": project.currency,
        "locale": project.locale,
        "day": day.isoformat(),
        "changes": rows,
    }


def note_message_id(project_key: str, day: date, to: str, mail_from: str) -> str:
    """`<flag.ACME.2026-11-24.3f1a…@agency.example>`: one per recipient and day, the same for
    every attempt; the recipient is hashed so the id does not carry their address."""
    person = hashlib.sha256(to.strip().lower().encode()).hexdigest()[:16]
    base = digest_message_id(project_key, f"{day.isoformat()}.{person}", mail_from)
    return base.replace("<digest.", "<flag.", 1)


def _claim(
    engine: Engine,
    project_key: str,
    day: date,
    to: str,
    change_ids: list[int],
    message_id: str,
    now: datetime,
) -> int | None:
    """The claimed row's id, or None when another process sent, or is sending, this note."""
    key = {"project_key": project_key, "day": day, "recipient": to}
    this_note = [getattr(_n, column) == value for column, value in key.items()]
    with engine.begin() as conn:
        row = {
            **key,
            "change_ids": change_ids,
            "status": SENDING,
            "message_id": message_id,
            "claimed_at": now,
        }
        if not insert_ignore(conn, flag_notices, row, conflict=list(key)):
            # Compare-and-set: of two workers retrying a refused note, one takes it.
            retried = conn.execute(
                update(flag_notices)
                .where(*this_note, _n.status == FAILED)
                .values(status=SENDING, change_ids=change_ids, claimed_at=now, error=None)
            )
            if retried.rowcount != 1:
                return None
        return int(conn.execute(select(_n.id).where(*this_note)).scalar_one())


def _record(engine: Engine, row_id: int, result: SendResult, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(flag_notices)
            .where(_n.id == row_id)
            .values(
                status=SENT if result.ok else FAILED,
                sent_at=now if result.ok else None,
                error=result.error,
            )
        )
