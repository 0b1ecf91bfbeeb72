"""Case 8: forged, truncated, non-ASCII and replayed credentials get nothing in.

Webhook signatures are attacked over real HTTP against `scopewatch serve` (a raw socket sends the
non-ASCII header bytes no HTTP library would), and the inbox must end exactly as the one genuine
delivery left it. The admin token and feedback links are checked by behaviour, and every secret
comparison is shown to go through `hmac.compare_digest` (itsdangerous uses it too) by spying on it
and by reading the source.
"""

from __future__ import annotations

import ast
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from service import create_app
from service.digest.links import feedback_secret, make_token
from service.intake.signature import sign, token_matches, verify
from service.store import schema
from service.store.clock import frozen_clock
from tests.reliability.harness import (
    Delivery,
    ServeProcess,
    raw_request,
    worklog_event,
)
from tests.support import ADMIN, NOW, ROOT, SECRET, app_settings


def inbox_state(db_url: str) -> tuple[int, int, int]:
    """(inbox rows, duplicates counted, rejected rows), read from outside the server."""
    from service.store.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(schema.inbox)).scalar_one()
            dupes = conn.execute(select(func.sum(schema.inbox.c.duplicates))).scalar_one()
            rejected = conn.execute(select(func.count()).select_from(schema.rejected)).scalar_one()
    finally:
        engine.dispose()
    return int(rows), int(dupes or 0), int(rejected)


# --- webhook signatures over real HTTP --------------------------------------------------------


def bad_signatures(genuine: Delivery) -> dict[str, str]:
    good = sign(SECRET, genuine.body)
    return {
        "forged with another secret": sign("not-the-secret", genuine.body),
        "truncated by one": good[:-1],
        "truncated to half": good[: 7 + 32],
        "prefix only": "sha256=",
        "extended by one": good + "0",
        "sha1 prefix": "sha1=" + good.removeprefix("sha256="),
        "no prefix": good.removeprefix("sha256="),
        "hex of zeros": "sha256=" + "0" * 64,
        "empty": "",
        "the secret itself": SECRET,
    }


def test_forged_truncated_non_ascii_and_replayed_signatures_store_nothing_new(
    sqlite_url: str, figures: dict[str, Any]
) -> None:
    genuine = Delivery.of(worklog_event(1))
    stranger = Delivery.of(worklog_event(2))  # a body Jira never signed
    with ServeProcess(sqlite_url) as server:
        url = server.url + "/webhooks/jira"
        http = server.http
        assert http.post(url, data=genuine.body, headers=genuine.headers()).status_code == 202

        refused: dict[str, int] = {}
        for name, signature in bad_signatures(stranger).items():
            headers = {**stranger.headers(), "X-Hub-Signature": signature}
            refused[name] = http.post(url, data=stranger.body, headers=headers).status_code
        # A recorded genuine signature replayed on another body (the classic replay attack).
        replayed_sig = {**stranger.headers(), "X-Hub-Signature": sign(SECRET, genuine.body)}
        refused["genuine signature on another body"] = http.post(
            url, data=stranger.body, headers=replayed_sig
        ).status_code
        unsigned = {k: v for k, v in stranger.headers().items() if k != "X-Hub-Signature"}
        refused["missing"] = http.post(url, data=stranger.body, headers=unsigned).status_code
        for name, token in {
            "token wrong": "wrong",
            "token truncated": SECRET[:-1],
            "token extended": SECRET + "x",
            "token empty": "",
        }.items():
            refused[name] = http.post(
                url, params={"token": token}, data=stranger.body, headers=unsigned
            ).status_code
        for name, raw in {
            "non-ASCII (UTF-8)": "sha256=\u00e9\u00df\u4e2d".encode(),
            "non-ASCII (Latin-1)": b"sha256=" + bytes(range(0xC0, 0xE0)),
            "good hex, non-ASCII tail": sign(SECRET, stranger.body).encode() + b"\xff",
        }.items():
            head = (
                b"POST /webhooks/jira HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nX-Hub-Signature: " + raw + b"\r\n"
            )
            refused[name] = raw_request(server.port, head, stranger.body)

        # Jira replays the genuine delivery: same id, then the same body under new ids.
        same_id = [
            http.post(url, data=genuine.body, headers=genuine.headers()).status_code
            for _ in range(5)
        ]
        new_ids = [
            http.post(url, data=genuine.body, headers=Delivery.of({}).headers() | {
                "X-Hub-Signature": sign(SECRET, genuine.body)
            }).status_code
            for _ in range(5)
        ]  # fmt: skip
        error_shape = http.post(url, data=stranger.body, headers=unsigned).json()
        assert server.alive()

    assert refused == dict.fromkeys(refused, 401), refused
    assert same_id == [200] * 5 and new_ids == [200] * 5
    assert error_shape == {
        "error": {"status": 401, "message": "missing or invalid X-Hub-Signature"}
    }
    assert inbox_state(sqlite_url) == (1, 10, 0)  # one row; the stranger reached no table
    figures.update(attempts_refused_401=len(refused) + 1, replays_duplicate_200=10, inbox_rows=1)


def test_signature_and_token_checks_never_raise_on_odd_input() -> None:
    body = b'{"webhookEvent": "x"}'
    for header in ["", "sha256=", "\u00e9" * 70, "sha256=" + "\udcff" * 64, "\x00" * 71]:
        assert verify(SECRET, body, header) is False
    for token in ["", "\u00e9", "\udcff", SECRET[:-1], SECRET + "\x00"]:
        assert token_matches(SECRET, token) is False


# --- the admin token --------------------------------------------------------------------------


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    app = create_app(app_settings(sqlite_url), clock=frozen_clock(NOW))
    yield app
    app.extensions["scopewatch"].engine.dispose()


def wrong_admin_headers() -> dict[str, dict[str, str]]:
    return {
        "missing": {},
        "wrong": {"Authorization": "Bearer wrong"},
        "truncated": {"Authorization": f"Bearer {ADMIN[:-1]}"},
        "extended": {"Authorization": f"Bearer {ADMIN}x"},
        "empty bearer": {"Authorization": "Bearer "},
        "no scheme": {"Authorization": ADMIN},
        "basic": {"Authorization": "Basic " + ADMIN},
        "webhook secret instead": {"Authorization": f"Bearer {SECRET}"},
        "non-ASCII": {"Authorization": "Bearer \u00e9\u00e9".encode().decode("latin-1")},
    }


def test_wrong_missing_and_malformed_admin_tokens_are_401(
    app: Flask, sqlite_url: str, figures: dict[str, Any]
) -> None:
    client = app.test_client()
    path = "/api/projects/ACME/scope-changes"
    answers = {
        name: client.get(path, headers=headers).status_code
        for name, headers in wrong_admin_headers().items()
    }
    assert answers == dict.fromkeys(answers, 401), answers
    assert client.get(path, headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
    decision = client.post(
        path + "/ACME-999/decision",
        json={"decision": "approved"},
        headers={"Authorization": "Bearer wrong"},
    )
    assert decision.status_code == 401
    assert decision.get_json()["error"]["status"] == 401

    # With no admin token configured the API is shut, whatever is sent.
    closed_app = create_app(app_settings(sqlite_url, admin_token=None), clock=frozen_clock(NOW))
    closed = closed_app.test_client()
    try:
        for header in ["Bearer ", "Bearer None", "Bearer null", f"Bearer {ADMIN}"]:
            assert closed.get(path, headers={"Authorization": header}).status_code == 401
    finally:
        closed_app.extensions["scopewatch"].engine.dispose()
    figures.update(wrong_token_variants_401=len(answers), closed_api_401=4)


# --- feedback links ---------------------------------------------------------------------------


def feedback_token(app: Flask, *, age: timedelta = timedelta(0), secret: str | None = None) -> str:
    key = secret or feedback_secret(app.extensions["scopewatch"])
    assert key is not None
    return make_token(key, "ACME", "2026-W47", "nonce-rel-8", now=NOW - age)


def test_wrong_expired_and_reused_feedback_links_get_a_clear_page(
    app: Flask, figures: dict[str, Any]
) -> None:
    client = app.test_client()
    good = feedback_token(app)
    payload, stamp, signature = good.split(".")
    cases = {
        "another secret": (feedback_token(app, secret="guess"), "not valid"),
        "signature flipped": (f"{payload}.{stamp}.{signature[::-1]}", "not valid"),
        "truncated": (good[: len(good) // 2], "incomplete"),
        "garbage": ("x" * 40, "incomplete"),
        "expired": (feedback_token(app, age=timedelta(days=15)), "expired"),
    }
    for name, (token, words) in cases.items():
        for answer in (client.get(f"/feedback/{token}"), client.post(f"/feedback/{token}")):
            page = answer.get_data(as_text=True)
            assert answer.status_code == 400, (name, answer.status_code)
            assert words in page and "Traceback" not in page, name
    assert client.get("/feedback/%C3%A9%00%0d%0a").status_code in {400, 404}

    form = {"happy": "yes", "score": "8", "comment": "fine"}
    assert client.get(f"/feedback/{good}").status_code == 200
    assert client.post(f"/feedback/{good}", data=form).status_code == 200
    again = client.post(f"/feedback/{good}", data=form)
    assert again.status_code == 409
    assert "already been recorded" in again.get_data(as_text=True)
    with app.extensions["scopewatch"].engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.feedback)).scalar_one() == 1
    figures.update(bad_links_refused=len(cases) * 2, answers_recorded=1, reuse_refused_409=1)


# --- constant-time comparison ------------------------------------------------------------------


class CompareSpy:
    """Stands in for hmac.compare_digest and remembers what it compared."""

    def __init__(self) -> None:
        self.real = hmac.compare_digest
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.real(a, b)

    def compared(self, secret: str) -> bool:
        needle = secret.encode()
        return any(
            needle in (x.encode() if isinstance(x, str) else bytes(x))
            for pair in self.calls
            for x in pair
        )


def test_every_secret_check_goes_through_compare_digest(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = CompareSpy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = json.dumps({"webhookEvent": "x"}).encode()

    assert verify(SECRET, body, sign(SECRET, body))
    assert spy.calls, "the webhook signature is not compared with hmac.compare_digest"
    spy.calls.clear()
    assert token_matches(SECRET, SECRET)
    assert spy.compared(SECRET), "the ?token= fallback is not compared with compare_digest"

    spy.calls.clear()
    assert app.test_client().get(f"/feedback/{feedback_token(app)}").status_code == 200
    assert spy.calls, "feedback tokens are not verified by itsdangerous/compare_digest"
    spy.calls.clear()
    answer = app.test_client().get(
        "/api/projects/ACME/scope-changes", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert answer.status_code == 200
    assert spy.compared(ADMIN), "the admin token is not compared with compare_digest"


SECRET_NAMES = {"admin_token", "webhook_secret", "jira_token", "token", "secret", "signature"}


def _names_in(node: ast.AST) -> set[str]:
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
    return found


def secret_equality_checks(path: Path) -> list[str]:
    """`==`/`!=` with a secret-named operand: a comparison that leaks timing."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(isinstance(o, ast.Constant) and o.value in (None, "") for o in operands):
            continue  # "is it set" checks reveal nothing about the value
        if any(_names_in(o) & SECRET_NAMES for o in operands):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_secret_is_compared_with_equals_in_the_source() -> None:
    sources = [
        p
        for folder in ("service", "reports")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if "sandbox" not in p.parts  # the sandbox plays Jira; its checks are not ours
    ]
    offenders = [line for path in sources for line in secret_equality_checks(path)]
    assert offenders == []
    uses = [p.name for p in sources if "compare_digest" in p.read_text(encoding="utf-8")]
    assert "signature.py" in uses
    assert "api.py" in uses, "service/web/api.py checks the admin token without compare_digest"
    # The e-mail's signed links (feedback, decisions) are read by itsdangerous in one module.
    signed_source = (ROOT / "service" / "digest" / "signed.py").read_text(encoding="utf-8")
    assert "from itsdangerous import" in signed_source
