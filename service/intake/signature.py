"""Jira's webhook signature: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time and on bytes: a non-ASCII header is simply wrong, never a 500."""
    if not header:
        return False
    expected = sign(secret, body).encode()
    provided = header.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(expected, provided.lower())


def token_matches(secret: str, token: str | None) -> bool:
    """The `?token=` fallback for old Data Center versions that cannot sign."""
    if not token:
        return False
    return hmac.compare_digest(secret.encode(), token.encode("utf-8", "surrogateescape"))
