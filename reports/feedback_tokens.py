"""Signed, expiring tokens for the feedback link in each digest.

A token names the project, the ISO week and a nonce (one answer per link), signed with the server's
secret so a client cannot answer for another project or week by editing the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

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


def make_token(
    secret: str, project_key: str, week: str, nonce: str, *, now: datetime | None = None
) -> str:
    """A URL-safe token for the feedback link; `now` (aware) is the signing time, for tests."""
    payload = {"p": project_key, "w": week, "n": nonce}
    return str(_serializer(secret, now).dumps(payload))


def read_token(
    secret: str, token: str, max_age_days: int = 14, *, now: datetime | None = None
) -> FeedbackClaim:
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


def _serializer(secret: str, now: datetime | None) -> URLSafeTimedSerializer:
    if now is None:
        return URLSafeTimedSerializer(secret, salt=SALT)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    fixed = int(now.timestamp())

    class _SignerAt(TimestampSigner):
        """itsdangerous reads the clock inside the signer; this one reads ours."""

        def get_timestamp(self) -> int:
            return fixed

    return URLSafeTimedSerializer(secret, salt=SALT, signer=_SignerAt)


def _signed_just_ahead(exc: SignatureExpired, now: datetime | None) -> bool:
    signed = exc.date_signed
    if signed is None:
        return False
    reference = (now or datetime.now(UTC)).timestamp()
    return 0 < signed.timestamp() - reference <= _CLOCK_SKEW_SECONDS


def _claim(payload: Any) -> FeedbackClaim | None:
    if not isinstance(payload, dict):
        return None
    project_key, week, nonce = (payload.get(k) for k in ("p", "w", "n"))
    if not all(isinstance(v, str) and v for v in (project_key, week, nonce)):
        return None
    return FeedbackClaim(project_key=str(project_key), week=str(week), nonce=str(nonce))
