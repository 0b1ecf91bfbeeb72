"""The client decides from the e-mail: signed `/decisions/<token>` links, GET shows, POST decides.

Each recipient's links name them, and they are the decider without being asked; a link mailed
before each recipient had their own (naming several) still works and asks who. Each refusal a
client could meet: a forged, mangled, expired, used or outdated (re-priced) link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from reports.render import render_html, render_text
from service import create_app
from service.digest.build import addressed_to, build_digest
from service.digest.decision_links import (
    DecisionClaim,
    decision_link,
    decision_secret,
    make_token,
    read_token,
)
from service.scope.changes import change_by_key, update_change
from service.store import schema
from service.store.clock import frozen_clock
from tests.support import NOW, app_settings
from tests.web.cockpit_support import SECRET_KEY, mirror_acme

CLIENT = "pm@acme.example"  # ACME's digest recipient in mappings/sandbox.toml


def make_app(db_url: str, now: Any = NOW, **extra: Any) -> Any:
    settings = app_settings(db_url, secret_key=SECRET_KEY, **extra)
    return create_app(settings, clock=frozen_clock(now))


@pytest.fixture
def app(db_url: str) -> Iterator[Any]:
    app = make_app(db_url)
    mirror_acme(app)
    yield app
    app.extensions["scopewatch"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def links(app: Any, recipient: str = CLIENT) -> dict[str, dict[str, str]]:
    """The decision links in the digest as `recipient` gets it."""
    rt = app.extensions["scopewatch"]
    digest = addressed_to(rt, build_digest(rt, "ACME", "2026-W47"), recipient, NOW)
    return {c["key"]: c for c in digest["decisions"]}


def old_token(app: Any, *recipients: str, decision: str = "approved") -> str:
    """A link as digests were mailed before each recipient got their own: naming them all."""
    rt = app.extensions["scopewatch"]
    c = change(app)
    claim = DecisionClaim("ACME", c.key, c.id, c.impact_version, decision, recipients)
    secret = decision_secret(rt)
    assert secret is not None
    return f"/decisions/{make_token(secret, claim, now=NOW)}"


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8080")


def change(app: Any, key: str = "ACME-101") -> Any:
    with app.extensions["scopewatch"].engine.connect() as conn:
        return change_by_key(conn, "ACME", key)


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_digest_carries_approve_and_reject_links_for_each_pending_change(app: Any):
    found = links(app)
    assert "ACME-101" in found
    approve, reject = found["ACME-101"]["approve"], found["ACME-101"]["reject"]
    assert approve.startswith("http://127.0.0.1:8080/decisions/") and approve != reject
    rt = app.extensions["scopewatch"]
    digest = addressed_to(rt, build_digest(rt, "ACME", "2026-W47"), CLIENT, NOW)
    assert approve in render_text(digest)
    assert "Awaiting your decision" in render_html(digest)
    assert f'href="{approve}"' in render_html(digest)


def test_opening_the_link_shows_the_price_and_asks_but_never_decides(client: Any, app: Any):
    approve = path_of(links(app)["ACME-101"]["approve"])
    for _ in range(3):  # a mail scanner, a link preview, the client
        page = client.get(approve)
        assert page.status_code == 200
        assert "Approve ACME-101?" in text(page)
        assert "Yes, approve ACME-101" in text(page)
        assert f"Deciding as {CLIENT}" in text(page)
    assert change(app).decision == "pending"


def test_confirming_decides_once_as_the_recipient_and_queues_the_jira_update(client: Any, app: Any):
    mailed = links(app)["ACME-101"]
    reject, approve = path_of(mailed["reject"]), path_of(mailed["approve"])
    done = client.post(reject, data={"recipient": CLIENT})
    assert done.status_code == 200
    assert "ACME-101 is rejected." in text(done)
    decided = change(app)
    assert decided.decision == "rejected"
    assert (decided.decided_by, decided.decision_channel) == (CLIENT, "email")
    with app.extensions["scopewatch"].engine.connect() as conn:
        assert conn.execute(select(schema.outbox.c.status)).scalars().all().count("pending") >= 1

    again = client.post(reject, data={"recipient": CLIENT})
    assert again.status_code == 409
    assert "already decided: rejected" in text(again)
    # The other link of the same mail now says so too, and changes nothing.
    assert "already decided" in text(client.get(approve))
    assert client.post(approve, data={"recipient": CLIENT}).status_code == 409
    assert change(app).decision == "rejected"


def test_each_recipients_link_names_them_and_decides_as_them_without_asking(client: Any, app: Any):
    other = "cfo@acme.example"
    mine, theirs = links(app)["ACME-101"], links(app, other)["ACME-101"]
    assert mine["approve"] != theirs["approve"]
    rt = app.extensions["scopewatch"]
    secret = decision_secret(rt)
    assert secret is not None
    token = path_of(theirs["approve"]).removeprefix("/decisions/")
    assert read_token(secret, token, 14, now=NOW).recipients == (other,)

    page = client.get(path_of(theirs["approve"]))
    assert f"Deciding as {other}." in text(page)
    assert "Who is deciding?" not in text(page) and 'name="recipient"' not in text(page)
    # The form cannot change who decides: the link names the decider.
    done = client.post(path_of(theirs["approve"]), data={"recipient": "mallory@evil.example"})
    assert done.status_code == 200
    decided = change(app)
    assert (decided.decision, decided.decided_by, decided.decision_channel) == (
        "approved",
        other,
        "email",
    )


def test_the_public_helper_makes_the_same_kind_of_link_for_one_recipient(client: Any, app: Any):
    url = decision_link(
        app.extensions["scopewatch"], change(app), "rejected", "ops@acme.example", now=NOW
    )
    assert url is not None
    assert client.post(path_of(url)).status_code == 200
    assert (change(app).decision, change(app).decided_by) == ("rejected", "ops@acme.example")
    with pytest.raises(ValueError, match="approved or rejected"):
        decision_link(app.extensions["scopewatch"], change(app), "not-scope", CLIENT, now=NOW)


def test_a_link_mailed_before_the_upgrade_naming_several_still_asks_who(client: Any, app: Any):
    path = old_token(app, CLIENT, "cfo@acme.example")
    page = client.get(path)
    assert page.status_code == 200
    assert "Who is deciding?" in text(page) and "cfo@acme.example" in text(page)
    refused = client.post(path, data={"recipient": "mallory@evil.example"})
    assert refused.status_code == 400 and "Choose who is deciding." in text(refused)
    assert change(app).decision == "pending"
    done = client.post(path, data={"recipient": "cfo@acme.example"})
    assert done.status_code == 200
    assert (change(app).decided_by, change(app).decision_channel) == ("cfo@acme.example", "email")


def test_the_pm_preview_carries_links_that_ask_who(app: Any):
    """Unaddressed (preview, cockpit): its links name every recipient and their page asks who."""
    rt = app.extensions["scopewatch"]
    preview = build_digest(rt, "ACME", "2026-W47")
    [row] = [c for c in preview["decisions"] if c["key"] == "ACME-101"]
    secret = decision_secret(rt)
    assert secret is not None
    token = path_of(row["approve"]).removeprefix("/decisions/")
    acme = rt.mapping.project("ACME")
    assert read_token(secret, token, 14, now=NOW).recipients == tuple(acme.digest.to)


@pytest.mark.parametrize(
    ("mangle", "says"),
    [
        (lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"), "not valid"),
        (lambda t: "not-a-token", "incomplete"),
    ],
)
def test_a_forged_or_mangled_link_is_refused_with_a_plain_page(
    client: Any, app: Any, mangle: Any, says: str
):
    token = links(app)["ACME-101"]["approve"].rsplit("/", 1)[1]
    for method in (client.get, client.post):
        response = method(f"/decisions/{mangle(token)}", data={"recipient": CLIENT})
        assert response.status_code == 400
        assert says in text(response)
    assert change(app).decision == "pending"


def test_an_expired_link_is_refused(app: Any, db_url: str):
    approve = path_of(links(app)["ACME-101"]["approve"])
    later = make_app(db_url, NOW + timedelta(days=15))
    try:
        response = later.test_client().post(approve, data={"recipient": CLIENT})
        assert response.status_code == 400
        assert "expired" in text(response)
    finally:
        later.extensions["scopewatch"].engine.dispose()
    assert change(app).decision == "pending"


def test_a_link_for_an_old_price_shows_the_new_price_and_asks_again(client: Any, app: Any):
    approve = path_of(links(app)["ACME-101"]["approve"])
    with app.extensions["scopewatch"].engine.begin() as conn:
        old = change_by_key(conn, "ACME", "ACME-101")
        update_change(conn, old, cost=9999.0, impact_version=old.impact_version + 1)

    shown = client.get(approve)
    assert shown.status_code == 200
    assert "re-priced" in text(shown) and "€9,999" in text(shown)
    refused = client.post(approve, data={"recipient": CLIENT})
    assert refused.status_code == 409 and "€9,999" in text(refused)
    assert change(app).decision == "pending"

    fresh = re.search(r'action="(/decisions/[^"]+)"', shown.get_data(as_text=True))
    assert fresh is not None and fresh.group(1) != approve
    assert client.post(fresh.group(1), data={"recipient": CLIENT}).status_code == 200
    assert change(app).decision == "approved"
