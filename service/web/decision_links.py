"""`/decisions/<token>`: the client approves or rejects a scope change from the e-mail.

GET only shows the change, its price and a confirm button: mail scanners and link previews follow
links, and must never decide. POST decides, once, through the same engine as every other decision
(the write-back to Jira follows), recorded as taken by the recipient the link was made for (channel
"email"); only an older link naming several recipients asks which of them decides. A used, expired,
forged or outdated link gets a plain page that says so; an outdated one (the change was re-priced
since the mail) shows the new price and asks again. The token itself is the proof, so there is no
session and no CSRF token here.
"""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request

from service.digest.decision_links import (
    DecisionClaim,
    DecisionTokenError,
    decision_secret,
    make_token,
    read_token,
)
from service.scope.changes import change_by_key
from service.scope.decisions import decide
from service.scope.model import Invalid, NotFound, ScopeChange
from service.web.context import get_runtime

log = logging.getLogger(__name__)

bp = Blueprint("decisions", __name__, template_folder="templates")

REASONS = {
    "forged": "This link is not valid. Please use the link from your e-mail as it was sent.",
    "expired": "This link has expired. The next weekly e-mail brings a new one, or ask your "
    "project manager.",
    "malformed": "This link is incomplete. Please copy the whole link from your e-mail.",
}
VERBS = {"approved": "approve", "rejected": "reject"}


def _message(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("decision_message.html", title=title, message=message), status


@bp.route("/decisions/<token>", methods=["GET", "POST"])
def decision(token: str) -> tuple[str, int]:
    rt = get_runtime()
    secret = decision_secret(rt)
    if secret is None:
        return _message("Links unavailable", "Decision links are not enabled here.", 404)
    try:
        claim = read_token(secret, token, rt.settings.decision_link_days, now=rt.clock())
    except DecisionTokenError as exc:
        return _message("Link not valid", REASONS[exc.reason], 400)
    with rt.engine.connect() as conn:
        change = change_by_key(conn, claim.project_key, claim.issue_key)
    if change is None or change.withdrawn or change.id != claim.change_id:
        return _message(
            "No longer open", f"{claim.issue_key} is no longer a scope change to decide.", 404
        )
    if change.decision != "pending":
        return _already(change, 409 if request.method == "POST" else 200)
    if change.impact_version != claim.impact_version:
        return _ask_again(secret, claim, change)
    if request.method == "GET":
        return _confirm(claim, change, token, error=None), 200
    return _decide(claim, change, token)


def _decide(claim: DecisionClaim, change: ScopeChange, token: str) -> tuple[str, int]:
    rt = get_runtime()
    # A link made for one recipient names the decider, whatever the form says; an older link
    # for several recipients asks which of them is deciding.
    who = claim.decider or request.form.get("recipient") or ""
    if who not in claim.recipients:
        return _confirm(claim, change, token, error="Choose who is deciding."), 400
    try:
        with rt.engine.begin() as conn:
            # Checked again inside the transaction: two clicks in a row decide once.
            fresh = change_by_key(conn, claim.project_key, claim.issue_key)
            if fresh is None or fresh.decision != "pending":
                return _already(fresh or change, 409)
            if fresh.impact_version != claim.impact_version:
                raise _Repriced
            decide(
                conn,
                rt.mapping,
                claim.project_key,
                claim.issue_key,
                claim.decision,
                None,
                rt.clock(),
                channel="email",  # the recipient the link was made for decides
                by=who,
            )
    except _Repriced:
        secret = decision_secret(rt)
        assert secret is not None
        return _ask_again(secret, claim, change)
    except (NotFound, Invalid) as exc:
        return _message("Could not record", str(exc), 409)
    log.info("decision link: %s %s by e-mail", claim.issue_key, claim.decision)
    return _message(
        "Thank you",
        f"{claim.issue_key} is {claim.decision}. Your project manager and the team see it now.",
        200,
    )


class _Repriced(Exception):
    pass


def _confirm(claim: DecisionClaim, change: ScopeChange, token: str, *, error: str | None) -> str:
    return render_template(
        "decision_confirm.html",
        change=change,
        verb=VERBS[claim.decision],
        recipients=claim.recipients,
        action=f"/decisions/{token}",
        price=_price(change),
        error=error,
        repriced=False,
    )


def _ask_again(secret: str, claim: DecisionClaim, change: ScopeChange) -> tuple[str, int]:
    """The change was re-priced since the mail: the new price, and a link for it."""
    rt = get_runtime()
    fresh = DecisionClaim(
        claim.project_key,
        claim.issue_key,
        change.id,
        change.impact_version,
        claim.decision,
        claim.recipients,
    )
    token = make_token(secret, fresh, now=rt.clock())
    page = render_template(
        "decision_confirm.html",
        change=change,
        verb=VERBS[claim.decision],
        recipients=claim.recipients,
        action=f"/decisions/{token}",
        price=_price(change),
        error=None,
        repriced=True,
    )
    return page, 409 if request.method == "POST" else 200


def _already(change: ScopeChange, status: int) -> tuple[str, int]:
    when = change.decided_at.strftime("%Y-%m-%d") if change.decided_at else None
    text = f"{change.key} was already decided: {change.decision}"
    return _message("Already decided", text + (f" on {when}." if when else "."), status)


def _price(change: ScopeChange) -> str:
    from reports import formats

    if change.cost is None:
        return "needs an estimate before it can be priced"
    return f"{formats.money(change.cost, change.currency)} ({formats.hours(change.hours)})"
