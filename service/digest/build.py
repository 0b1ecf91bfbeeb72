"""The service's edge around `reports`: build a digest from the database, render it, send it once.

`reports` computes and renders from plain data; this module only adds what needs our settings and
database: the week to report on, the signed feedback link, the engine, the SMTP URL and the clock.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta
from typing import Any

from mappings.model import Project
from service.runtime import Runtime
from service.store.engine import reader
from service.store.schema import utcnow


def feedback_secret(rt: Runtime) -> str | None:
    """A key for feedback links, derived so that no extra secret has to be configured."""
    base = rt.settings.webhook_secret or rt.settings.admin_token
    if not base:
        return None
    return hmac.new(base.encode(), b"scopewatch-feedback-links", hashlib.sha256).hexdigest()


def feedback_link(rt: Runtime, project_key: str, week: str) -> str | None:
    from reports.feedback_tokens import make_token

    secret = feedback_secret(rt)
    if secret is None:
        return None
    # One link per project and week: the same digest rebuilt shows the same link, answered once.
    nonce = hmac.new(secret.encode(), f"{project_key}/{week}".encode(), "sha256").hexdigest()[:24]
    token = make_token(secret, project_key, week, nonce, now=rt.clock())
    return f"{rt.settings.public_url}/feedback/{token}"


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
    from service.digest.load import digest_for

    project = rt.mapping.project(project_key)
    if project is None:
        raise ValueError(f"no project {project_key!r} in {rt.mapping.source}")
    week = report_week(project, week, now or utcnow())
    with reader(rt.engine) as conn:
        return digest_for(
            conn, rt.mapping, project_key, week, feedback_link=feedback_link(rt, project_key, week)
        )


def message_id(project_key: str, week: str, mail_from: str | None) -> str:
    domain = (mail_from or "scopewatch.invalid").rsplit("@", 1)[-1].strip("<> ") or "scopewatch"
    return f"<digest.{project_key}.{week}@{domain}>"


def render(
    digest: dict[str, Any], fmt: str, *, mail_from: str | None = None, to: list[str] | None = None
) -> str | bytes:
    import json

    from reports import render as rendering

    if fmt == "json":
        return json.dumps(digest, indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        return rendering.render_html(digest)
    if fmt == "text":
        return rendering.render_text(digest)
    if fmt == "eml":
        from reports.mail import build_message

        message = build_message(
            digest,
            mail_from=mail_from or "scopewatch@localhost",
            to=to or [],
            message_id=message_id(digest["project"], digest["week"], mail_from),
        )
        return bytes(message)
    raise ValueError(f"unknown format {fmt!r}: use json, html, text or eml")


def build_output(rt: Runtime, project_key: str, week: str | None, fmt: str) -> str | bytes:
    digest = build_digest(rt, project_key, week)
    project = rt.mapping.project(project_key)
    recipients = list(project.digest.to) if project else []
    return render(digest, fmt, mail_from=rt.settings.mail_from, to=recipients)


def is_due(project: Project, week: str, now: datetime) -> bool:
    """Due once the project's digest day and hour have come in its time zone, after the week."""
    from reports.period import period_for

    period = period_for(week, project.digest.tz)
    send_at = period.end + timedelta(days=project.digest.weekday, hours=project.digest.hour)
    return now >= send_at


def send_digests(
    rt: Runtime,
    project_keys: list[str] | None,
    *,
    week: str | None = None,
    due_only: bool = False,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sends each project's digest once per week; returns project → outcome.

    One project's failure (a refused recipient, a 5xx) is recorded and the others still go.
    """
    from service.digest.deliver import send_once

    now = now or utcnow()
    outcomes: dict[str, str] = {}
    for project in rt.mapping.projects:
        if project_keys is not None and project.key not in project_keys:
            continue
        project_week = report_week(project, week, now)
        if due_only and not is_due(project, project_week, now):
            outcomes[project.key] = "not-due"
            continue
        if not project.digest.to:
            outcomes[project.key] = "no-recipients"
            continue
        digest = build_digest(rt, project.key, project_week, now)
        outcomes[project.key] = send_once(
            rt.engine,
            digest,
            mail_from=rt.settings.mail_from or "",
            to=list(project.digest.to),
            smtp_url=rt.settings.smtp_url or "",
            now=now,
        )
    return outcomes
