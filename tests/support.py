"""Helpers for tests: the test secrets, app settings, a Jira-like sender, payload fixtures."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.intake.signature import sign

ROOT = Path(__file__).resolve().parent.parent
# The tests' "now": Tuesday of ISO week 48 of 2026, the morning after week 47's digest went out.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SECRET = "test-webhook-secret-5a1d"
ADMIN = "test-admin-token-77c1"


def app_settings(db_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "database_url": db_url,
        "mappings": str(ROOT / "mappings" / "sandbox.toml"),
        "webhook_secret": SECRET,
        "admin_token": ADMIN,
        **extra,
    }


class JiraSender:
    """Posts a body the way Jira does: JSON, signed, with a delivery id."""

    def __init__(self, client: Any, secret: str = SECRET) -> None:
        self.client = client
        self.secret = secret

    def post(
        self,
        body: dict[str, Any] | bytes,
        *,
        delivery_id: str | None = None,
        signature: str | None = None,
        content_type: str = "application/json; charset=UTF-8",
        query: str = "",
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"X-Atlassian-Webhook-Identifier": delivery_id or uuid.uuid4().hex}
        headers["X-Hub-Signature"] = signature if signature is not None else sign(self.secret, raw)
        if signature == "":
            del headers["X-Hub-Signature"]
        return self.client.post(
            f"/webhooks/jira{query}", data=raw, headers=headers, content_type=content_type
        )


FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"


def fixture_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def go_live(engine: Any, *keys: str, now: datetime = NOW) -> None:
    """A project starts in observe mode (no Jira write, no client mail): tests of a live project's
    writes and mails switch it on, as `scopewatch project go-live KEY` does."""
    from service.projects.modes import LIVE, set_mode

    with engine.begin() as conn:
        for key in keys:
            set_mode(conn, key, LIVE, by="tests", now=now)


def caught_up(engine: Any, *keys: str, now: datetime = NOW) -> None:
    """The mirror holds what Jira had (as a finished reconcile records): digests may be built."""
    from service.projects.modes import mark_caught_up

    with engine.begin() as conn:
        mark_caught_up(conn, keys, now)
