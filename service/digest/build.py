"""Building a digest from the database and rendering it; `send` mails it, `deliver` once.

`reports` computes and renders from plain data; this module adds what needs the runtime: the week
to report on (by its clock), the signed feedback and decision links, the database.

A digest is built once per week and then `addressed_to` each recipient: the same figures, with
that recipient's own feedback link and decision links naming them. Built without an addressee
(the PM's preview, the cockpit, `digest show`), its decision links name every recipient of the
digest and their page asks who is deciding, and its feedback link names no one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from mappings.model import Project
from service.runtime import Runtime
from service.store.engine import reader


def report_week(project: Project, week: str | None, now: datetime) -> str:
    """The week asked for (checked), else the last full week in the project's time zone."""
    from reports.period import parse_week, previous_full_week

    if week is None:
        return previous_full_week(now, project.digest.tz)
    year, number = parse_week(week)  # raises ValueError with a one-line reason
    # A digest covers the project's life; far-off weeks would only cost time (series per week).
    monday = date.fromisocalendar(year, number, 1)
    if not project.start - timedelta(days=366) <= monday <= project.end + timedelta(days=366):
        raise ValueError(
            f"week {week} is more than a year outside the project "
            f"({project.start.isoformat()} to {project.end.isoformat()})"
        )
    return week


def build_digest(
    rt: Runtime, project_key: str, week: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    from service.digest.links import feedback_link
    from service.digest.load import digest_for

    project = rt.mapping.project(project_key)
    if project is None:
        raise ValueError(f"no project {project_key!r} in {rt.mapping.source}")
    now = now or rt.clock()
    week = report_week(project, week, now)
    with reader(rt.engine) as conn:
        # A week still running is a preview: its ages are measured to now, not to its end.
        digest = digest_for(
            conn,
            rt.mapping,
            project_key,
            week,
            feedback_link=feedback_link(rt, project_key, week),
            as_of=now,
        )
        digest["decisions"] = _awaiting_decision(rt, conn, project, now)
    # Reports stay pure: the Jira site its issue keys link to comes in as data.
    digest["jira_url"] = str(rt.settings.jira_url).rstrip("/") if rt.settings.jira_url else None
    return digest


def addressed_to(
    rt: Runtime, digest: dict[str, Any], recipient: str, now: datetime
) -> dict[str, Any]:
    """The digest as `recipient` gets it: the same figures, their own feedback link, and decision
    links naming them (read now: a change decided since the digest was built is not asked again)."""
    from service.digest.links import feedback_link

    project = rt.mapping.project(str(digest["project"]))
    if project is None:
        raise ValueError(f"no project {digest['project']!r} in {rt.mapping.source}")
    link = feedback_link(rt, project.key, str(digest["week"]), recipient)
    with reader(rt.engine) as conn:
        decisions = _awaiting_decision(rt, conn, project, now, [recipient])
    return {**digest, "feedback": {**digest["feedback"], "link": link}, "decisions": decisions}


def _awaiting_decision(
    rt: Runtime,
    conn: Connection,
    project: Project,
    now: datetime,
    recipients: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Each change still pending, with signed approve/reject links naming `recipients` (by
    default every recipient of the digest: a preview's links)."""
    from sqlalchemy import false, select

    from service.digest.decision_links import links_for
    from service.scope.model import ScopeChange
    from service.store.schema import scope_changes as sc

    recipients = list(project.digest.to) if recipients is None else recipients
    pending = conn.execute(
        select(sc)
        .where(sc.c.project_key == project.key, sc.c.decision == "pending")
        .where(sc.c.withdrawn == false())
        .order_by(sc.c.detected_at, sc.c.id)
    ).mappings()
    rows = []
    for change in (ScopeChange.from_row(row) for row in pending):
        links = links_for(rt, change, recipients, now=now)
        if links is None:
            return []
        rows.append(
            {
                "key": change.key,
                "summary": change.summary,
                "hours": change.hours,
                "cost": change.cost,
                **links,
            }
        )
    return rows


def render(
    digest: dict[str, Any],
    fmt: str,
    *,
    mail_from: str | None = None,
    to: list[str] | None = None,
    now: datetime | None = None,
) -> str | bytes:
    """The digest as `fmt`; an e-mail (`eml`) needs `now` for its Date header."""
    import json

    if fmt == "json":  # before `reports.render`: JSON needs neither Jinja nor matplotlib
        return json.dumps(digest, indent=2, ensure_ascii=False) + "\n"

    from reports import render as rendering

    if fmt == "html":
        return rendering.render_html(digest)
    if fmt == "text":
        return rendering.render_text(digest)
    if fmt == "eml":
        from reports.mail import build_message
        from service.digest.deliver import digest_message_id, recipient_message_id

        key, week, sender = digest["project"], digest["week"], mail_from or ""
        message = build_message(
            digest,
            mail_from=mail_from or "scopewatch@localhost",
            to=to or [],
            # The id `deliver` sends one recipient's copy under: what `--format eml` shows for
            # one recipient is what went out to them.
            message_id=recipient_message_id(key, week, to[0], sender)
            if to and len(to) == 1
            else digest_message_id(key, week, sender),
            date=now or datetime.fromisoformat(digest["period"]["end"]),
        )
        return bytes(message)
    raise ValueError(f"unknown format {fmt!r}: use json, html, text or eml")


def build_output(rt: Runtime, project_key: str, week: str | None, fmt: str) -> str | bytes:
    digest = build_digest(rt, project_key, week)
    project = rt.mapping.project(project_key)
    recipients = list(project.digest.to[:1]) if project else []
    if fmt == "eml" and recipients:  # the message its first recipient gets
        digest = addressed_to(rt, digest, recipients[0], rt.clock())
    return render(digest, fmt, mail_from=rt.settings.mail_from, to=recipients, now=rt.clock())
