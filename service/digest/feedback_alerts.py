"""Feedback that needs the PM now: "not happy", or a score at or below the project's threshold.

Mailed at once to the project's `pm` addresses, once per answer (the caller sends right after
the answer's row is committed, and an answer is stored only once). A mail failure is logged, not
raised: the client's answer is recorded either way and shows in the cockpit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from service.runtime import Runtime

log = logging.getLogger(__name__)


def needs_alert(happy: bool, score: int, threshold: int) -> bool:
    return not happy or score <= threshold


def alert_pm(
    rt: Runtime,
    project_key: str,
    week: str,
    *,
    happy: bool,
    score: int,
    comment: str | None,
    now: datetime,
    by: str | None = None,
) -> bool:
    """Mails the project's PMs about this answer (by the recipient `by`, when the link named
    one) if it calls for it; True when a mail went out."""
    project = rt.mapping.project(project_key)
    if project is None or not needs_alert(happy, score, project.feedback_alert_below):
        return False
    if not project.pm or rt.mailer is None:
        log.warning(
            "feedback alert for %s %s not mailed: no pm addresses or no mail", project_key, week
        )
        return False
    mood = "happy" if happy else "not happy"
    msg = EmailMessage()
    msg["Subject"] = f"[{project.key}] {project.client} feedback for {week}: {mood}, {score}/10"
    msg["From"] = rt.mailer.mail_from
    msg["To"] = ", ".join(project.pm)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="scopewatch.invalid")
    cockpit = f"{rt.settings.public_url}/projects/{project.key}/feedback"
    who = f"{project.client} ({by})" if by else project.client
    msg.set_content(
        f"{who} answered the digest for {week}: {mood}, score {score}/10.\n\n"
        + (f"Their comment:\n\n  {comment}\n\n" if comment else "No comment.\n\n")
        + f"Every answer: {cockpit}\n"
    )
    result = rt.mailer.send(msg)
    if not result.ok:
        log.warning("feedback alert for %s %s failed: %s", project_key, week, result.error)
    return result.ok
