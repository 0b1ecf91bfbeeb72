"""The signed link in each digest's "Are you happy?" button."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from service.digest import signed
from service.digest.links import SALT, FeedbackClaim, FeedbackTokenError, make_token, read_token

SECRET = "feedback-secret-for-tests"
SENT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def reason(token: str, now: datetime = SENT) -> str:
    with pytest.raises(FeedbackTokenError) as caught:
        read_token(SECRET, token, now=now)
    return caught.value.reason


def test_a_token_reads_back_as_its_project_week_and_nonce() -> None:
    token = make_token(SECRET, "ACME", "2026-W47", "n-81f3", now=SENT)
    assert read_token(SECRET, token, now=SENT) == FeedbackClaim("ACME", "2026-W47", "n-81f3")
    assert token.replace("-", "").replace("_", "").replace(".", "").isalnum()  # URL-safe


def test_a_token_is_good_for_fourteen_days_by_default() -> None:
    token = make_token(SECRET, "ACME", "2026-W47", "n1", now=SENT)
    assert read_token(SECRET, token, now=SENT + timedelta(days=14)).week == "2026-W47"
    assert reason(token, now=SENT + timedelta(days=14, seconds=1)) == "expired"
    assert read_token(SECRET, token, max_age_days=30, now=SENT + timedelta(days=20)).nonce == "n1"


def test_a_token_signed_by_another_secret_is_forged() -> None:
    assert reason(make_token("someone-else", "ACME", "2026-W47", "n1", now=SENT)) == "forged"


def test_editing_the_project_inside_a_token_is_forged() -> None:
    token = make_token(SECRET, "ACME", "2026-W47", "n1", now=SENT)
    payload, timestamp, signature = token.split(".")
    other = make_token(SECRET, "OTHER", "2026-W47", "n1", now=SENT).split(".")[0]
    assert reason(f"{other}.{timestamp}.{signature}") == "forged"
    assert payload != other


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        "....",
        "not a token at all!",
        base64.urlsafe_b64encode(b'["list"]').decode() + ".x.y",
    ],
)
def test_garbage_is_malformed(token: str) -> None:
    assert reason(token) == "malformed"


def test_the_reason_is_on_the_exception_for_the_form_page() -> None:
    error = FeedbackTokenError("expired")
    assert error.reason == "expired" and str(error) == "expired"


def test_a_token_from_a_server_whose_clock_runs_slightly_ahead_is_accepted() -> None:
    token = make_token(SECRET, "ACME", "2026-W47", "n1", now=SENT + timedelta(minutes=2))
    assert read_token(SECRET, token, now=SENT).project_key == "ACME"
    far_ahead = make_token(SECRET, "ACME", "2026-W47", "n1", now=SENT + timedelta(days=1))
    assert reason(far_ahead, now=SENT) == "expired"


def test_a_token_names_the_recipient_it_was_mailed_to() -> None:
    token = make_token(SECRET, "ACME", "2026-W47", "n1", now=SENT, recipient="ana@acme.example")
    claim = read_token(SECRET, token, now=SENT)
    assert claim == FeedbackClaim("ACME", "2026-W47", "n1", "ana@acme.example")


def test_a_token_from_before_links_named_their_recipient_still_reads() -> None:
    old = signed.dumps(SECRET, SALT, {"p": "ACME", "w": "2026-W47", "n": "n1"}, now=SENT)
    assert read_token(SECRET, old, now=SENT).recipient is None
    bad = {"p": "ACME", "w": "2026-W47", "n": "n1", "r": ["a@acme.example"]}
    assert reason(signed.dumps(SECRET, SALT, bad, now=SENT)) == "malformed"
