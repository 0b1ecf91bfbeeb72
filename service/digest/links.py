"""Signed links in the digest e-mail: the feedback form, one answer per project and week.

A token names the project, the ISO week and a nonce (one answer per link), signed with a key
derived from the server's secret so a client cannot answer for another project or week by
editing the URL; it expires. The signing time comes from the runtime's clock.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from service.runtime import Runtime

SALT = "scopewatch-feedback"
# Authentic tokens signed slightly "in the future" come from another machine's clock, not a forger.
_CLOCK_SKEW_SECONDS = 300

Reason = Literal["forged", "expired", "malformed"]


@dataclass(frozen=True)
class FeedbackClaim:
    project_key: str
    week: str
    nonce: str


class FeedbackTokenError(Exception):
    """The token cannot be used; `reason` is "forged", "expired" or "malformed"."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


def make_token(secret: str, project_key: str, week: str, nonce: str, *, now: datetime) -> str:
    """A URL-safe token for the feedback link, signed at `now` (aware)."""
    payload = {"p": project_key, "w": week, "n": nonce}
    return str(_serializer(secret, now).dumps(payload))


def read_token(secret: str, token: str, max_age_days: int = 14, *, now: datetime) -> FeedbackClaim:
    """The claim inside an authentic token younger than `max_age_days`, else FeedbackTokenError."""
    serializer = _serializer(secret, now)
    try:
        payload = serializer.loads(token, max_age=max_age_days * 86_400)
    except SignatureExpired as exc:
        if not _signed_just_ahead(exc, now):
            raise FeedbackTokenError("expired") from exc
        payload = serializer.load_payload(exc.payload or b"")
    except BadSignature as exc:
        # Tell a tampered token (readable, wrong signature) from a mangled one (not a token at all).
        _, unsafe = serializer.loads_unsafe(token)
        raise FeedbackTokenError("forged" if _claim(unsafe) else "malformed") from exc
    claim = _claim(payload)
    if claim is None:
        raise FeedbackTokenError("malformed")
    return claim


def _serializer(secret: str, now: datetime) -> URLSafeTimedSerializer:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    fixed = int(now.timestamp())

    class _SignerAt(TimestampSigner):
        """itsdangerous reads the clock inside the signer; this one reads ours."""

        def get_timestamp(self) -> int:
            return fixed

    return URLSafeTimedSerializer(secret, salt=SALT, signer=_SignerAt)


def _signed_just_ahead(exc: SignatureExpired, now: datetime) -> bool:
    signed = exc.date_signed
    if signed is None:
        return False
    return 0 < signed.timestamp() - now.timestamp() <= _CLOCK_SKEW_SECONDS


def _claim(payload: Any) -> FeedbackClaim | None:
    if not isinstance(payload, dict):
        return None
    project_key, week, nonce = (payload.get(k) for k in ("p", "w", "n"))
    if not all(isinstance(v, str) and v for v in (project_key, week, nonce)):
        return None
    return FeedbackClaim(project_key=str(project_key), week=str(week), nonce=str(nonce))


# --- the digest's feedback link ------------------------------------------------------------


def feedback_secret(rt: Runtime) -> str | None:
    """A key for feedback links, derived so that no extra secret has to be configured."""
    base = rt.settings.webhook_secret or rt.settings.admin_token
    if not base:
        return None
    return hmac.new(base.encode(), b"scopewatch-feedback-links", hashlib.sha256).hexdigest()


def feedback_link(rt: Runtime, project_key: str, week: str) -> str | None:
    secret = feedback_secret(rt)
    if secret is None:
        return None
    # One link per project and week: the same digest rebuilt shows the same link, answered once.
    nonce = hmac.new(secret.encode(), f"{project_key}/{week}".encode(), "sha256").hexdigest()[:24]
    token = make_token(secret, project_key, week, nonce, now=rt.clock())
    return f"{rt.settings.public_url}/feedback/{token}"
