"""The PM's cockpit: log in, every project at a glance, decide changes, preview and send digests.

Server-rendered pages (Jinja), no JavaScript needed. Every form carries a CSRF token; a viewer
sees everything and changes nothing. Decisions go through the same engine as the API and the CLI
(`service.scope.decisions.decide`); digests through `service.digest`. Time is the runtime's clock.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from mappings.model import Project
from service.accounts.users import authenticate
from service.digest.deliver import recipient_rows
from service.digest.status import digest_history
from service.projects.modes import state
from service.scope.audit import project_trail
from service.scope.changes import list_changes
from service.scope.decisions import NOTE_MAX_CHARS, decide
from service.scope.model import Invalid, NotFound
from service.settings import signing_key
from service.store import schema
from service.store.engine import reader
from service.web import sessions
from service.web.context import get_runtime
from service.web.digest_cache import page_digest
from service.web.money_panel import money_overview, project_money
from service.web.sessions import current_user, login_required, pm_required

log = logging.getLogger(__name__)

bp = Blueprint("cockpit", __name__, template_folder="templates")

# The buttons on a change: the decision each one asks the engine for.
ACTIONS = {
    "approve": "approved",
    "reject": "rejected",
    "not-scope": "not-scope",
    "reopen": "pending",
}
FILTERS = ("pending", "decided", "week", "all")


@bp.before_request
def cockpit_on() -> tuple[str, int] | None:
    if request.method == "OPTIONS":
        return None  # Flask answers it with the allowed methods; nothing to protect
    if signing_key(get_runtime().settings) is None:
        # Off, like the admin API without its token: a page that says how to turn it on.
        return render_template(
            "cockpit/message.html",
            title="Cockpit off",
            message="The cockpit is off: set SCOPEWATCH_SECRET_KEY to sign its sessions.",
        ), 404
    if request.method == "POST":
        sessions.protect()
    return None


@bp.app_context_processor
def inject() -> dict[str, Any]:
    from reports import formats

    return {
        "user": current_user(),
        "formats": formats,
        "cockpit_projects": lambda: get_runtime().mapping.projects,
    }


@bp.errorhandler(404)
def not_found(exc: Exception) -> tuple[str, int]:
    return render_template(
        "cockpit/message.html", title="Not found", message=getattr(exc, "description", "")
    ), 404


# --- logging in and out ---------------------------------------------------------------------------


@bp.get("/login")
def login() -> str:
    return render_template("cockpit/login.html", next=request.args.get("next", ""), error=None)


@bp.post("/login")
def login_post() -> Response | tuple[str, int]:
    rt = get_runtime()
    email = request.form.get("email", "")[:320]
    result = authenticate(rt.engine, email, request.form.get("password", ""), now=rt.clock())
    if result.user is None:
        if result.refused == "throttled":
            error, status = "Too many failed attempts: wait 15 minutes and try again.", 429
        else:
            error, status = "Wrong e-mail or password.", 401
        log.info("cockpit login refused (%s)", result.refused)
        page = render_template(
            "cockpit/login.html", next=request.form.get("next", ""), error=error, email=email
        )
        return page, status
    sessions.log_in(result.user)
    return redirect(sessions.safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response:
    sessions.log_out()
    return redirect(url_for("cockpit.login"))


# --- every project --------------------------------------------------------------------------------


AUDIT_SHOWN = 50  # the latest decisions on the project page; `export scope-changes` has all


@bp.get("/")
@login_required
def home() -> str:
    rt = get_runtime()
    rows = [_overview(project) for project in rt.mapping.projects]
    money = money_overview(request.args.get("total_in"))
    return render_template("cockpit/home.html", rows=rows, now=rt.clock(), money=money)


def _overview(project: Project) -> dict[str, Any]:
    rt = get_runtime()
    row: dict[str, Any] = {"project": project}
    try:
        digest = page_digest(rt, project)
    except ValueError as exc:
        row["problem"] = str(exc).splitlines()[0]
        return row
    row["digest"] = digest
    row["late_days"] = _late_days(digest)
    row["client_blockers"] = [b for b in digest["blockers"] if b["waiting_on"] == "client"]
    with reader(rt.engine) as conn:
        row["mode"] = state(conn, project.key).mode
        row["last_digest"] = next(iter(digest_history(conn, project.key)), None)
        row["feedback"] = _feedback(conn, project.key)[:3]
    return row


def _late_days(digest: dict[str, Any]) -> int | None:
    """Days the 85% forecast lies past the plan's end; 0 on time, None without a forecast."""
    p85 = (digest["timeline"].get("forecast") or {}).get("p85")
    if not p85:
        return None
    late = (date.fromisoformat(p85[:10]) - date.fromisoformat(digest["timeline"]["end"])).days
    return max(late, 0)


# --- one project ----------------------------------------------------------------------------------


@bp.get("/projects/<key>")
@login_required
def project(key: str) -> str:
    rt = get_runtime()
    proj = _project(key)
    show = request.args.get("show", "pending")
    if show not in FILTERS:
        show = "pending"
    since, until = _this_week(proj, rt.clock()) if show == "week" else (None, None)
    with reader(rt.engine) as conn:
        changes = list_changes(
            conn,
            proj.key,
            decision="pending" if show == "pending" else None,
            since=since,
            until=until,
        )
    if show == "decided":
        changes = [c for c in changes if c["decision"] != "pending"]
    jira = rt.settings.jira_url
    return render_template(
        "cockpit/project.html",
        project=proj,
        changes=changes,
        show=show,
        filters=FILTERS,
        jira_url=jira,
        note_max=NOTE_MAX_CHARS,
        money=project_money(proj.key),
        **_state(proj),
    )


def _state(project: Project) -> dict[str, Any]:
    """Blockers and the burn and scope charts of the last full week, as the digest has them."""
    import base64

    from reports.charts import burn_chart, scope_chart

    rt = get_runtime()
    try:
        digest = page_digest(rt, project)
    except ValueError:
        return {"blockers": [], "charts": {}, "week": None, "trail": []}
    charts = {
        name: "data:image/png;base64," + base64.b64encode(draw(digest)).decode("ascii")
        for name, draw in (("burn", burn_chart), ("scope", scope_chart))
    }
    with reader(rt.engine) as conn:
        trail = project_trail(conn, project.key)[::-1][:AUDIT_SHOWN]  # newest first
    return {
        "blockers": digest["blockers"],
        "charts": charts,
        "week": digest["week"],
        "trail": trail,
    }


@bp.post("/projects/<key>/changes/<issue>/decision")
@pm_required
def decision(key: str, issue: str) -> Response | tuple[str, int]:
    rt = get_runtime()
    proj = _project(key)
    wanted = ACTIONS.get(request.form.get("action", ""))
    if wanted is None:
        flash("Choose approve, reject, not scope or reopen.", "error")
        return redirect(url_for("cockpit.project", key=proj.key))
    note = request.form.get("note", "").strip() or None
    user = current_user()
    try:
        with rt.engine.begin() as conn:
            # The engine records and audits the decision and queues the write-back to Jira.
            change = decide(
                conn,
                rt.mapping,
                proj.key,
                issue.upper(),
                wanted,
                note,
                rt.clock(),
                channel="web",
                by=user.email if user else None,
            )
    except (NotFound, Invalid) as exc:
        flash(f"{issue}: {exc}", "error")
        return redirect(url_for("cockpit.project", key=proj.key))
    log.info("cockpit: %s decided %s %s", user.email if user else "?", change["key"], wanted)
    flash(f"{change['key']} is now {change['decision']}.", "ok")
    return redirect(url_for("cockpit.project", key=proj.key, show=request.form.get("show")))


# --- the digest -----------------------------------------------------------------------------------


@bp.get("/projects/<key>/digest")
@login_required
def digest(key: str) -> tuple[str, int]:
    from reports.render import CLIENT, SECTIONS, render_html
    from service.digest.build import build_digest

    rt = get_runtime()
    proj = _project(key)
    # Which version to look at; what is sent is always the client's (`send` renders its own).
    audience = request.args.get("audience", CLIENT)
    if audience not in SECTIONS:
        audience = CLIENT
    try:
        data = build_digest(rt, proj.key, request.args.get("week") or None, rt.clock())
    except ValueError as exc:
        return render_template(
            "cockpit/message.html", title="No such week", message=str(exc).splitlines()[0]
        ), 400
    with reader(rt.engine) as conn:
        sent = conn.execute(
            select(schema.digest_sends).where(
                schema.digest_sends.c.project_key == proj.key,
                schema.digest_sends.c.week == data["week"],
            )
        ).first()
        each = recipient_rows(conn, proj.key, data["week"])
    return render_template(
        "cockpit/digest.html",
        project=proj,
        week=data["week"],
        html=render_html(data, audience=audience),
        audience=audience,
        sent=sent,
        each=each,
        mail_ready=rt.mailer is not None,
    ), 200


@bp.post("/projects/<key>/digest")
@pm_required
def send(key: str) -> Response:
    from service.digest.build import build_digest
    from service.digest.send import mail_to_each

    rt = get_runtime()
    proj = _project(key)
    week = request.form.get("week", "")
    back = redirect(url_for("cockpit.digest", key=proj.key, week=week or None))
    if request.form.get("confirm") != "yes":
        flash("Tick the confirmation box to send the digest to the client.", "error")
        return back
    if rt.mailer is None:
        flash("Mail is not configured: set SCOPEWATCH_SMTP_URL and SCOPEWATCH_MAIL_FROM.", "error")
        return back
    if not proj.digest.to:
        flash(f"{proj.key} has no digest recipients in the mapping.", "error")
        return back
    try:
        data = build_digest(rt, proj.key, week or None, rt.clock())
    except ValueError as exc:
        flash(str(exc).splitlines()[0], "error")
        return back
    again = request.form.get("action") == "resend"
    outcome = mail_to_each(rt, data, list(proj.digest.to), rt.clock(), again=again)
    user = current_user()
    log.info("cockpit: %s sent %s %s: %s", user.email if user else "?", proj.key, week, outcome)
    flash(_SENT.get(outcome, outcome), "ok" if outcome == "sent" else "error")
    return back


_SENT = {
    "sent": "The digest was sent.",
    "already-sent": "This week's digest was sent already; use Resend to send it again.",
    "in-progress": "This digest is being sent right now.",
    "failed": "Sending failed; the mail server's answer is on the page. Try again later.",
}


# --- feedback -------------------------------------------------------------------------------------


@bp.get("/projects/<key>/feedback")
@login_required
def feedback(key: str) -> str:
    proj = _project(key)
    with reader(get_runtime().engine) as conn:
        answers = _feedback(conn, proj.key)
    return render_template("cockpit/feedback.html", project=proj, answers=answers)


def _feedback(conn: Any, project_key: str) -> list[Any]:
    fb = schema.feedback
    return list(
        conn.execute(
            select(fb).where(fb.c.project_key == project_key).order_by(fb.c.at.desc(), fb.c.id)
        )
    )


# --- helpers --------------------------------------------------------------------------------------


def _project(key: str) -> Project:
    proj = get_runtime().mapping.project(key.upper())
    if proj is None:
        abort(404, f"unknown project {key}")
    return proj


def _this_week(project: Project, now: datetime) -> tuple[datetime, datetime]:
    zone = ZoneInfo(project.digest.tz)
    local = now.astimezone(zone)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), datetime.min.time())
    start = monday.replace(tzinfo=zone)
    return start, start + timedelta(days=7)
