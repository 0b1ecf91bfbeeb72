"""Signed approve/reject links in the client's e-mail: `/decisions/<token>`.

A token names the change (id and issue key), the impact version the client was shown, the decision,
and the recipient the mail went to, who is then the decider: each recipient of a digest gets a
message of their own with links of their own. The payload keeps the recipient in a list ("r":
[address]), the form tokens had before each recipient got their own mail; such an older token
naming several recipients still works, and its page asks which of them is deciding (a PM's preview
carries that form too, naming every recipient of the digest). It is signed with a key derived from
SCOPEWATCH_SECRET_KEY and expires after SCOPEWATCH_DECISION_LINK_DAYS. A link for an older impact
version is "outdated": the change was re-priced since, and the client is shown the new price and
asked again.
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

    @property
    def decider(self) -> str | None:
        """The one recipient the link was made for; None when it names several (older links)."""
        return self.recipients[0] if len(self.recipients) == 1 else None


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


def decision_link(
    rt: Runtime, change: ScopeChange, decision: str, recipient: str, *, now: datetime
) -> str | None:
    """The signed link by which `recipient` decides `change` ("approved" or "rejected") at the
    impact version it has now; None when decision links are off (no secret key)."""
    return _link(rt, change, decision, (recipient,), now=now)


def links_for(
    rt: Runtime, change: ScopeChange, recipients: list[str], *, now: datetime
) -> dict[str, str] | None:
    """{"approve": url, "reject": url} for one pending change, or None when links are off.

    One recipient: links naming the decider. Several (a PM's preview): links any of them may use,
    whose page asks who is deciding.
    """
    if not recipients:
        return None
    urls = {}
    for word, decision in (("approve", "approved"), ("reject", "rejected")):
        url = _link(rt, change, decision, tuple(recipients), now=now)
        if url is None:
            return None
        urls[word] = url
    return urls


def _link(
    rt: Runtime, change: ScopeChange, decision: str, recipients: tuple[str, ...], *, now: datetime
) -> str | None:
    if decision not in LINK_DECISIONS:
        raise ValueError(f"a link decides {' or '.join(LINK_DECISIONS)}, not {decision!r}")
    secret = decision_secret(rt)
    if secret is None:
        return None
    claim = DecisionClaim(
        project_key=change.project_key,
        issue_key=change.key,
        change_id=change.id,
        impact_version=change.impact_version,
        decision=decision,
        recipients=recipients,
    )
    return f"{rt.settings.public_url}/decisions/{make_token(secret, claim, now=now)}"


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
