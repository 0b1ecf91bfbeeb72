"""Signed approve/reject links in the client's e-mail: `/decisions/<token>`.

A token names the change (id and issue key), the impact version the client was shown, the
decision, and the digest's recipients (any of them may decide; the page asks which one when there
are several). It is signed with a key derived from SCOPEWATCH_SECRET_KEY and expires after
SCOPEWATCH_DECISION_LINK_DAYS. A link for an older impact version is "outdated": the change was
re-priced since, and the client is shown the new price and asked again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.digest import signed
from service.runtime import Runtime
from service.scope.model import ScopeChange
from service.settings import signing_key

SALT = "scopewatch-decision"
LINK_DECISIONS = ("approved", "rejected")


@dataclass(frozen=True)
class DecisionClaim:
    project_key: str
    issue_key: str
    change_id: int
    impact_version: int
    decision: str
    recipients: tuple[str, ...]


class DecisionTokenError(signed.TokenError):
    """A decision link that cannot be used: "forged", "expired" or "malformed"."""


def decision_secret(rt: Runtime) -> str | None:
    base = signing_key(rt.settings)
    if base is None:
        return None
    return hmac.new(base.encode(), b"scopewatch-decision-links", hashlib.sha256).hexdigest()


def make_token(secret: str, claim: DecisionClaim, *, now: datetime) -> str:
    payload = {
        "p": claim.project_key,
        "k": claim.issue_key,
        "c": claim.change_id,
        "v": claim.impact_version,
        "d": claim.decision,
        "r": list(claim.recipients),
    }
    return signed.dumps(secret, SALT, payload, now=now)


def read_token(secret: str, token: str, max_age_days: int, *, now: datetime) -> DecisionClaim:
    """The claim of an authentic, unexpired token, else DecisionTokenError."""
    return signed.loads(
        secret, SALT, token, max_age_days, now=now, claim_of=_claim, error=DecisionTokenError
    )


def links_for(
    rt: Runtime, change: ScopeChange, recipients: list[str], *, now: datetime
) -> dict[str, str] | None:
    """{"approve": url, "reject": url} for one pending change, or None when links are off."""
    secret = decision_secret(rt)
    if secret is None or not recipients:
        return None
    urls = {}
    for word, decision in (("approve", "approved"), ("reject", "rejected")):
        claim = DecisionClaim(
            project_key=change.project_key,
            issue_key=change.key,
            change_id=change.id,
            impact_version=change.impact_version,
            decision=decision,
            recipients=tuple(recipients),
        )
        urls[word] = f"{rt.settings.public_url}/decisions/{make_token(secret, claim, now=now)}"
    return urls


def _claim(payload: Any) -> DecisionClaim | None:
    if not isinstance(payload, dict):
        return None
    project, key, change_id, version, decision, recipients = (
        payload.get(k) for k in ("p", "k", "c", "v", "d", "r")
    )
    if not (isinstance(project, str) and project and isinstance(key, str) and key):
        return None
    if not (isinstance(change_id, int) and isinstance(version, int)):
        return None
    if decision not in LINK_DECISIONS or not isinstance(recipients, list) or not recipients:
        return None
    if not all(isinstance(r, str) and r for r in recipients):
        return None
    return DecisionClaim(project, key, change_id, version, str(decision), tuple(recipients))
