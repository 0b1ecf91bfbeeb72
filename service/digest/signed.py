"""Signed, expiring tokens for the links in a digest e-mail (the feedback form, the client's
decisions), signed and checked on the runtime's clock, never the wall clock.

A tampered token (readable, wrong signature) is told from a mangled one (not a token at all), and
an authentic token signed a little "in the future" by another machine's clock is not a forgery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

Reason = Literal["forged", "expired", "malformed"]
CLOCK_SKEW_SECONDS = 300

T = TypeVar("T")


class TokenError(Exception):
    """The token cannot be used; `reason` is "forged", "expired" or "malformed"."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


def dumps(secret: str, salt: str, payload: Any, *, now: datetime) -> str:
    return str(_serializer(secret, salt, now).dumps(payload))


def loads(
    secret: str,
    salt: str,
    token: str,
    max_age_days: int,
    *,
    now: datetime,
    claim_of: Callable[[Any], T | None],
    error: type[TokenError],
) -> T:
    """`claim_of(payload)` of an authentic token younger than `max_age_days`, else `error`."""
    serializer = _serializer(secret, salt, now)
    try:
        payload = serializer.loads(token, max_age=max_age_days * 86_400)
    except SignatureExpired as exc:
        if not _signed_just_ahead(exc, now):
            raise error("expired") from exc
        payload = serializer.load_payload(exc.payload or b"")
    except BadSignature as exc:
        _, unsafe = serializer.loads_unsafe(token)
        raise error("forged" if claim_of(unsafe) else "malformed") from exc
    claim = claim_of(payload)
    if claim is None:
        raise error("malformed")
    return claim


def _serializer(secret: str, salt: str, now: datetime) -> URLSafeTimedSerializer:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    fixed = int(now.timestamp())

    class _SignerAt(TimestampSigner):
        """itsdangerous reads the clock inside the signer; this one reads ours."""

        def get_timestamp(self) -> int:
            return fixed

    return URLSafeTimedSerializer(secret, salt=salt, signer=_SignerAt)


def _signed_just_ahead(exc: SignatureExpired, now: datetime) -> bool:
    signed = exc.date_signed
    if signed is None:
        return False
    return 0 < signed.timestamp() - now.timestamp() <= CLOCK_SKEW_SECONDS
