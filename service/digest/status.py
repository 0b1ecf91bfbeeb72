"""`scopewatch project status`: everything an agency checks before going live, in one place.

The mode and its audit, whether the mirror has caught up with Jira, every Jira write waiting in
the outbox (what it would change), and what became of each week's digest (sent, previewed,
skipped and why, resent), with each recipient's own copy of a client digest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from mappings.model import Project
from service.digest import notices
from service.digest.deliver import recipient_rows
from service.digest.send import due_week, grace_ends, not_caught_up, send_time
from service.mirror.reconcile import last_sweep
from service.outbox.queue import pending_jobs
from service.projects.modes import mode_changes, state
from service.store.schema import digest_sends, inbox


def project_status(conn: Connection, project: Project, now: datetime) -> dict[str, Any]:
    current = state(conn, project.key)
    week = due_week(project, now)
    waiting = not_caught_up(conn, project, week)
    return {
        "project": project.key,
        "client": project.client,
        "mode": current.mode,
        "mode_changes": mode_changes(conn, project.key),
        "mirror": {
            "caught_up": waiting is None,
            "why_not": waiting,
            "first_reconcile_finished_at": current.caught_up_at,
            "last_reconcile_at": last_sweep(conn, project.key),
            "inbox_pending": conn.execute(
                select(func.count()).select_from(inbox).where(inbox.c.status == "pending")
            ).scalar_one(),
        },
        "writes_waiting": [_write(job) for job in pending_jobs(conn, project.key)],
        "digest_due": {
            "week": week,
            "send_at": send_time(project, week),
            "grace_until": grace_ends(project, week),
        },
        "digests": digest_history(conn, project.key),
    }


def _write(job: dict[str, Any]) -> dict[str, Any]:
    payload = job.get("payload") or {}
    comment = payload.get("comment") or {}
    return {
        "issue": payload.get("issue_key"),
        "labels_add": payload.get("labels_add") or [],
        "labels_remove": payload.get("labels_remove") or [],
        "fields": payload.get("fields") or {},
        "comment": comment.get("text"),
        "job": job["dedupe_key"],
        "queued_at": job["created_at"],
        "attempts": job["attempts"],
        "last_error": job["last_error"],
    }


def digest_history(conn: Connection, project_key: str) -> list[dict[str, Any]]:
    """Every week's digest outcome, newest first: sent (or failed) to the client, previewed to
    the PM, skipped and why, resent."""
    sends = conn.execute(
        select(digest_sends).where(digest_sends.c.project_key == project_key)
    ).mappings()
    rows = []
    for s in sends:
        each = [_recipient(r) for r in recipient_rows(conn, project_key, s["week"])]
        rows.append(
            {
                "week": s["week"],
                "what": s["status"],  # sent|sending|failed: the client's digest, to everyone
                "at": s["sent_at"] or s["claimed_at"],
                "why": s["error"],  # which recipients the server refused, and its answer
                # Who has it (unknown for a week sent before each recipient had a row).
                "to": [r["recipient"] for r in each if r["what"] == "sent"] or None,
                "by": None,
                "recipients": each,
            }
        )
    kinds = {notices.PREVIEW: "preview", notices.SKIP: "skipped", notices.RESEND: "resent"}
    rows += [
        {
            "week": n["week"],
            "what": kinds.get(n["kind"], n["kind"]),
            "at": n["at"],
            "why": n["reason"] if not n["error"] else f"{n['reason']} (mail failed: {n['error']})",
            "to": n["mailed_to"],
            "by": n["by"],
            "recipients": [],
        }
        for n in notices.listed(conn, project_key, limit=200)
    ]
    return sorted(rows, key=lambda r: (r["week"], r["at"]), reverse=True)


def _recipient(row: dict[str, Any]) -> dict[str, Any]:
    """One recipient's copy of a week's digest: sent, sending or failed, when, and why."""
    return {
        "recipient": row["recipient"],
        "what": row["status"],
        "at": row["sent_at"] or row["claimed_at"],
        "why": row["error"],
    }
