"""Sending each project's digest: which week is due, whether it may go, to whom, and once.

A client digest goes only for the week due now (its send time has come, and not more than the
mapping's `grace_hours` ago), only once the mirror has caught up with Jira (the first full
reconcile finished, and no webhook older than the week's end still waits in the inbox), and only
while the project is live. Each recipient gets a message of their own, sent once
(`service.digest.deliver`): a send cut short after some recipients goes on with the others. In
observe mode the PM addresses get a preview instead. A week whose grace window closes unsent is
recorded as skipped, with why (`service.digest.notices`). A project whose `end` has passed gets the
digest of the week holding its end, and no more.

Nothing is built for a week already sent, previewed or skipped, so a scheduler ticking every minute
costs a few reads. One project's error (a refused recipient, a broken digest) is its own outcome
and the others still go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from mappings.model import Project
from reports.period import add_weeks, period_for, previous_full_week
from service.digest import notices
from service.digest.build import addressed_to, build_digest, report_week
from service.digest.deliver import (
    Outcome,
    mail_each,
    recipient_message_id,
    send_again,
    send_once,
    waiting_recipients,
)
from service.projects.modes import LIVE, state
from service.runtime import Runtime
from service.store.engine import reader
from service.store.schema import digest_sends, inbox

log = logging.getLogger(__name__)

# A failed client send is tried again, but not on every tick of the scheduler.
RETRY_FAILED_AFTER = timedelta(minutes=15)
ERROR = "error"


@dataclass(frozen=True)
class Resend:
    """`digest send --resend`: who asked, for the audit."""

    by: str


def send_time(project: Project, week: str) -> datetime:
    """The week's send time: the project's digest day and hour after the week, in its zone."""
    period = period_for(week, project.digest.tz)
    return period.end + timedelta(days=project.digest.weekday, hours=project.digest.hour)


def is_due(project: Project, week: str, now: datetime) -> bool:
    """Due once the project's digest day and hour have come in its time zone, after the week."""
    return now >= send_time(project, week)


def due_week(project: Project, now: datetime) -> str:
    """The newest week whose send time has come at `now`."""
    week = previous_full_week(now, project.digest.tz)
    return week if is_due(project, week, now) else add_weeks(week, -1)


def grace_ends(project: Project, week: str) -> datetime:
    return send_time(project, week) + timedelta(hours=project.digest.grace_hours)


def after_end(project: Project, week: str) -> bool:
    """A week that starts after the project's last day: the closing digest went before it."""
    return period_for(week, project.digest.tz).start.date() > project.end


def not_caught_up(conn: Connection, project: Project, week: str) -> str | None:
    """Why the mirror cannot be trusted yet for this week, or None."""
    if state(conn, project.key).caught_up_at is None:
        return "the mirror has not caught up with Jira yet (the first reconcile has not finished)"
    end = period_for(week, project.digest.tz).end
    backlog = conn.execute(
        select(func.count())
        .select_from(inbox)
        .where(inbox.c.status == "pending", inbox.c.received_at < end)
    ).scalar_one()
    if backlog:
        return f"{backlog} webhook(s) from before the week's end are still waiting in the inbox"
    return None


def sent_status(conn: Connection, project_key: str, week: str) -> tuple[str, datetime] | None:
    row = conn.execute(
        select(digest_sends.c.status, digest_sends.c.claimed_at).where(
            digest_sends.c.project_key == project_key, digest_sends.c.week == week
        )
    ).first()
    return None if row is None else (str(row.status), row.claimed_at)


def send_digests(
    rt: Runtime,
    project_keys: list[str] | None,
    *,
    week: str | None = None,
    due_only: bool = False,
    now: datetime | None = None,
    resend: Resend | None = None,
) -> dict[str, str]:
    """Each project's outcome: "sent", "already-sent", "preview-sent", "skipped: why", …

    An outcome starting with "error" or equal to "failed" is a failure; every project is tried.
    """
    if rt.mailer is None:
        raise ValueError("mail is not configured: set SCOPEWATCH_SMTP_URL and SCOPEWATCH_MAIL_FROM")
    now = now or rt.clock()
    outcomes: dict[str, str] = {}
    for project in rt.mapping.projects:
        if project_keys is not None and project.key not in project_keys:
            continue
        try:
            if resend is not None:
                outcomes[project.key] = _resend(rt, project, week, now, resend)
            elif due_only:
                outcomes[project.key] = _send_due(rt, project, now)
            else:
                outcomes[project.key] = _send_week(rt, project, week, now)
        except Exception as exc:  # one project's error never stops the others
            log.debug("digest of %s failed", project.key, exc_info=True)
            outcomes[project.key] = f"{ERROR}: {exc}"
    return outcomes


def failed(outcome: str) -> bool:
    return outcome in {"failed", "preview-failed"} or outcome.startswith(ERROR)


def _send_due(rt: Runtime, project: Project, now: datetime) -> str:
    """The scheduler's rule: the week due now, or nothing."""
    week = due_week(project, now)
    if after_end(project, week):
        return "ended"
    with reader(rt.engine) as conn:
        sent = sent_status(conn, project.key, week)
        if sent is not None and sent[0] == "sent":
            return "already-sent"
        # "sending": cut short, or going on elsewhere; each recipient's own claim keeps
        # anyone from being mailed twice, so those not yet claimed are sent now.
        if sent is not None and sent[0] == "sending":
            if not waiting_recipients(conn, project.key, week, list(project.digest.to)):
                return "in-progress"
        if notices.find(conn, project.key, week, notices.SKIP) is not None:
            return "skipped"
        current = state(conn, project.key)
        live = current.mode == LIVE
        previewed = notices.find(conn, project.key, week, notices.PREVIEW) is not None
        waiting = not_caught_up(conn, project, week)
    if current.caught_up_at is not None and grace_ends(project, week) <= current.caught_up_at:
        return "not-due"  # its window had closed before scopewatch first caught up: not ours
    if now >= grace_ends(project, week):
        reason = _stale_reason(project, week, live, previewed, waiting, sent)
        notices.record_skip(
            rt.engine,
            rt.mailer,
            project_key=project.key,
            week=week,
            reason=reason,
            pm=list(project.pm),
            tell_pm=not (previewed and not live),  # the preview already told them
            now=now,
        )
        return f"skipped: {reason}"
    if sent is not None and sent[0] == "failed" and now - sent[1] < RETRY_FAILED_AFTER:
        return "retry-later"  # a failed send, tried again a little later
    return _deliver(rt, project, week, now, live=live, previewed=previewed, waiting=waiting)


def _send_week(rt: Runtime, project: Project, week: str | None, now: datetime) -> str:
    """An operator's `digest send --project KEY [--week W]`: that week, once, with the same guards
    of mode and catch-up (no grace window: the operator picked the week)."""
    week = report_week(project, week, now)
    with reader(rt.engine) as conn:
        live = state(conn, project.key).mode == LIVE
        previewed = notices.find(conn, project.key, week, notices.PREVIEW) is not None
        waiting = not_caught_up(conn, project, week)
    return _deliver(rt, project, week, now, live=live, previewed=previewed, waiting=waiting)


def _deliver(
    rt: Runtime,
    project: Project,
    week: str,
    now: datetime,
    *,
    live: bool,
    previewed: bool,
    waiting: str | None,
) -> str:
    assert rt.mailer is not None
    if waiting is not None:
        return f"waiting: {waiting}"
    if not live:
        if previewed:
            return "previewed"
        if not project.pm:
            return "observe: no `pm` addresses in the mapping to preview to"
        digest = build_digest(rt, project.key, week, now)
        return notices.send_preview(rt.engine, rt.mailer, digest, to=list(project.pm), now=now)
    if not project.digest.to:
        return "no-recipients"
    digest = build_digest(rt, project.key, week, now)
    return mail_to_each(rt, digest, list(project.digest.to), now)


def mail_to_each(
    rt: Runtime, digest: dict[str, Any], to: list[str], now: datetime, *, again: bool = False
) -> Outcome:
    """The digest to each of `to` in a message of their own, with their own links: once per
    recipient, or (`again`) a deliberate resend under new Message-IDs."""
    assert rt.mailer is not None
    deliver = send_again if again else send_once
    return deliver(
        rt.engine,
        rt.mailer,
        digest,
        to=to,
        now=now,
        addressed=lambda recipient: addressed_to(rt, digest, recipient, now),
    )


def _stale_reason(
    project: Project,
    week: str,
    live: bool,
    previewed: bool,
    waiting: str | None,
    sent: tuple[str, datetime] | None,
) -> str:
    closed = f"its grace window ({project.digest.grace_hours:g} h after "
    closed += f"{send_time(project, week).isoformat()}) closed"
    if not live:
        seen = " (the PM got a preview)" if previewed else ""
        return f"{closed} while the project was in observe mode{seen}"
    if waiting is not None:
        return f"{closed} before the mirror caught up: {waiting}"
    if sent is not None:
        return f"{closed} before the mail server took it for every recipient"
    return f"{closed} with no scopewatch running to send it"


def _resend(rt: Runtime, project: Project, week: str | None, now: datetime, r: Resend) -> str:
    """A week sent again on purpose, to the client, audited; even a skipped or stale one."""
    assert rt.mailer is not None
    if week is None:
        raise ValueError("--resend needs --week")
    week = report_week(project, week, now)
    with reader(rt.engine) as conn:
        if state(conn, project.key).mode != LIVE:
            raise ValueError(
                f"{project.key} is in observe mode: run `scopewatch project go-live "
                f"{project.key}` before sending to the client"
            )
        waiting = not_caught_up(conn, project, week)
    if waiting is not None:
        return f"waiting: {waiting}"
    if not project.digest.to:
        return "no-recipients"
    digest = build_digest(rt, project.key, week, now)
    to = list(project.digest.to)
    notice = notices.record(
        rt.engine, project.key, week, notices.RESEND, "sent again on purpose", now, by=r.by
    )
    assert notice is not None  # a resend is never deduplicated
    mail_from = rt.mailer.mail_from
    results = mail_each(
        rt.mailer,
        to,
        lambda recipient: addressed_to(rt, digest, recipient, now),
        # New Message-IDs: each client's mail program shows the resend as a message of its own.
        lambda recipient: recipient_message_id(project.key, week, recipient, mail_from).replace(
            "<digest.", f"<resend{notice}.digest.", 1
        ),
        now,
    )
    errors = [f"{who}: {result.error}" for who, (_, result) in results.items() if not result.ok]
    notices.mailed(rt.engine, notice, list(results), "; ".join(errors) or None)
    log.info(
        "digest %s %s resent by %s: %s",
        project.key,
        week,
        r.by,
        "; ".join(errors) or "sent",
        extra={"project": project.key},
    )
    return "failed" if errors else "resent"
