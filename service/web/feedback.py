"""`/feedback/<token>`: the client's one-minute answer to the weekly digest.

The token is signed and expires (service.digest.links). Each recipient of a digest has a link of
their own, so several people of the client may each answer a week, once: a second answer from the
same link is refused (409) with a page showing the answer already recorded, since that answer may
already have alerted the PM and been quoted in a digest. A link from before each recipient had
their own (it names no one) is the week's one anonymous answer. A forged, expired or reused link
gets a plain page saying so, never a stack trace.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.digest.feedback_alerts import alert_pm
from service.digest.links import FeedbackClaim, FeedbackTokenError, feedback_secret, read_token
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
    earlier = _answer(claim)
    if earlier is not None:
        return _already(earlier, 409 if request.method == "POST" else 200)
    if request.method == "GET":
        return _form(claim, error=None), 200
    return _record(claim)


def _form(claim: FeedbackClaim, *, error: str | None) -> str:
    return render_template(
        "feedback_form.html",
        project=claim.project_key,
        week=claim.week,
        recipient=claim.recipient,
        error=error,
    )


def _answer(claim: FeedbackClaim) -> Any:
    """The answer already given through this link (or by its recipient that week), or None."""
    fb = schema.feedback.c
    same = fb.nonce == claim.nonce
    if claim.recipient is not None:
        mine = (fb.project_key == claim.project_key) & (fb.week == claim.week)
        same = same | (mine & (fb.recipient == claim.recipient))
    with get_runtime().engine.connect() as conn:
        return conn.execute(select(schema.feedback).where(same)).first()


def _already(answer: Any, status: int) -> tuple[str, int]:
    mood = "happy" if answer.happy else "not happy"
    who = f" from {answer.recipient}" if answer.recipient else ""
    said = f"{mood}, {answer.score}/10, on {answer.at.strftime('%Y-%m-%d')}"
    return _page(
        "Thank you",
        f"This week's feedback{who} has already been recorded ({said}). Each person answers "
        "once a week; your project manager has seen it.",
        status,
    )


def _record(claim: FeedbackClaim) -> tuple[str, int]:
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
        return _form(claim, error=problem), 400
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
                    recipient=claim.recipient,
                )
            )
    except IntegrityError:  # the same answer posted twice at once
        earlier = _answer(claim)
        if earlier is None:
            raise
        return _already(earlier, 409)
    # Stored once per link: this is the only time this answer can alert the PM.
    alert_pm(
        get_runtime(),
        claim.project_key,
        claim.week,
        happy=happy == "yes",
        score=int(score),
        comment=comment or None,
        now=get_runtime().clock(),
        by=claim.recipient,
    )
    return _page(
        "Thank you", "Your feedback has been recorded. It will appear in next week's digest.", 200
    )
