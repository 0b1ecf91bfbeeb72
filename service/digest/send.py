"""Sending each project's digest: which week is due, to whom, and once (`deliver`).

One project's failure (a refused recipient, a 5xx) is recorded and the others still go.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mappings.model import Project
from reports.period import period_for
from service.digest.build import build_digest, report_week
from service.digest.deliver import send_once
from service.runtime import Runtime


def is_due(project: Project, week: str, now: datetime) -> bool:
    """Due once the project's digest day and hour have come in its time zone, after the week."""
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
    if rt.mailer is None:
        raise ValueError("mail is not configured: set SCOPEWATCH_SMTP_URL and SCOPEWATCH_MAIL_FROM")
    now = now or rt.clock()
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
            rt.engine, rt.mailer, digest, to=list(project.digest.to), now=now
        )
    return outcomes
