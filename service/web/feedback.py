"""`/feedback/<token>`: the client's one-minute answer to the weekly digest.

The token is signed and expires (service.digest.links); each link is answered once. A forged,
expired or reused link gets a plain page saying so, never a stack trace.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.digest.feedback_alerts import alert_pm
from service.digest.links import FeedbackTokenError, feedback_secret, read_token
from service.store import schema
from service.web.context import get_runtime

bp = Blueprint("feedback", __name__, template_folder="templates")

REASONS = {
    "forged": "This link is not valid. Please use the link from your weekly e-mail.",
    "expired": "This link has expired. The next weekly e-mail will bring a new one.",
    "malformed": "This link is incomplete. Please copy the whole link from your weekly e-mail.",
}


def _page(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("feedback_message.html", title=title, message=message), status


@bp.route("/feedback/<token>", methods=["GET", "POST"])
def form(token: str) -> tuple[str, int]:
    rt = get_runtime()
    secret = feedback_secret(rt)
    if secret is None:
        return _page("Feedback unavailable", "Feedback is not enabled on this server.", 404)
    try:
        claim = read_token(secret, token, now=rt.clock())
    except FeedbackTokenError as exc:
        return _page("Link not valid", REASONS.get(exc.reason, REASONS["forged"]), 400)
    if _answered(claim.nonce):
        return _page(
            "Thank you",
            "This week's feedback has already been recorded.",
            409 if request.method == "POST" else 200,
        )
    if request.method == "GET":
        return render_template(
            "feedback_form.html", project=claim.project_key, week=claim.week, error=None
        ), 200
    return _record(claim)


def _answered(nonce: str) -> bool:
    with get_runtime().engine.connect() as conn:
        return (
            conn.execute(
                select(schema.feedback.c.id).where(schema.feedback.c.nonce == nonce)
            ).first()
            is not None
        )


def _record(claim) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    happy, score, comment = (
        request.form.get("happy"),
        request.form.get("score", ""),
        request.form.get("comment", "").strip(),
    )
    problem = None
    if happy not in {"yes", "no"}:
        problem = "Please answer yes or no."
    elif not score.isdigit() or not 1 <= int(score) <= 10:
        problem = "Please choose a score from 1 to 10."
    elif len(comment) > 2000:
        problem = "Please keep the comment under 2,000 characters."
    if problem:
        return render_template(
            "feedback_form.html", project=claim.project_key, week=claim.week, error=problem
        ), 400
    try:
        with get_runtime().engine.begin() as conn:
            conn.execute(
                schema.feedback.insert().values(
                    project_key=claim.project_key,
                    week=claim.week,
                    nonce=claim.nonce,
                    happy=happy == "yes",
                    score=int(score),
                    comment=comment or None,
                    at=get_runtime().clock(),
                )
            )
    except IntegrityError:
        return _page("Thank you", "This week's feedback has already been recorded.", 409)
    # Stored once per link: this is the only time this answer can alert the PM.
    alert_pm(
        get_runtime(),
        claim.project_key,
        claim.week,
        happy=happy == "yes",
        score=int(score),
        comment=comment or None,
        now=get_runtime().clock(),
    )
    return _page(
        "Thank you", "Your feedback has been recorded. It will appear in next week's digest.", 200
    )
