"""Signed links in the digest e-mail: the feedback form, one answer per recipient and week.

A token names the project, the ISO week, the recipient the mail went to and a nonce (one answer
per link), signed with a key derived from the server's secret so a client cannot answer for
another project, week or person by editing the URL; it expires. The signing time comes from the
runtime's clock. A token made before links named their recipient (no "r") still reads: its
answer is the one anonymous answer of that project and week.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.digest import signed
from service.runtime import Runtime

SALT = "scopewatch-feedback"


@dataclass(frozen=True)
class FeedbackClaim:
    project_key: str
    week: str
    nonce: str
    recipient: str | None = None


class FeedbackTokenError(signed.TokenError):
    """A feedback link that cannot be used: "forged", "expired" or "malformed"."""


def make_token(
    secret: str,
    project_key: str,
    week: str,
    nonce: str,
    *,
    now: datetime,
    recipient: str | None = None,
) -> str:
    """A URL-safe token for the feedback link, signed at `now` (aware)."""
    payload = {"p": project_key, "w": week, "n": nonce}
    if recipient is not None:
        payload["r"] = recipient
    return signed.dumps(secret, SALT, payload, now=now)


def read_token(secret: str, token: str, max_age_days: int = 14, *, now: datetime) -> FeedbackClaim:
    """The claim inside an authentic token younger than `max_age_days`, else FeedbackTokenError."""
    return signed.loads(
        secret, SALT, token, max_age_days, now=now, claim_of=_claim, error=FeedbackTokenError
    )


def _claim(payload: Any) -> FeedbackClaim | None:
    if not isinstance(payload, dict):
        return None
    project_key, week, nonce = (payload.get(k) for k in ("p", "w", "n"))
    if not all(isinstance(v, str) and v for v in (project_key, week, nonce)):
        return None
    recipient = payload.get("r")
    if recipient is not None and not (isinstance(recipient, str) and recipient):
        return None
    return FeedbackClaim(str(project_key), str(week), str(nonce), recipient)


# --- the digest's feedback link ------------------------------------------------------------


def feedback_secret(rt: Runtime) -> str | None:
    """A key for feedback links, derived so that no extra secret has to be configured."""
    base = rt.settings.webhook_secret or rt.settings.admin_token
    if not base:
        return None
    return hmac.new(base.encode(), b"scopewatch-feedback-links", hashlib.sha256).hexdigest()


def feedback_link(
    rt: Runtime, project_key: str, week: str, recipient: str | None = None
) -> str | None:
    """The form's link for `recipient` (None: a preview's link, which names no one)."""
    secret = feedback_secret(rt)
    if secret is None:
        return None
    # One link per project, week and recipient: the same digest rebuilt shows the same link, and
    # it is answered once. Without a recipient the text is the one links had before 0011, so an
    # answer through an old link and one through a preview share their single slot.
    about = f"{project_key}/{week}" if recipient is None else f"{project_key}/{week}/{recipient}"
    nonce = hmac.new(secret.encode(), about.encode(), "sha256").hexdigest()[:24]
    token = make_token(secret, project_key, week, nonce, now=rt.clock(), recipient=recipient)
    return f"{rt.settings.public_url}/feedback/{token}"
