"""The client never sees what an hour costs the agency, nor its margin: every client-facing text
(the digest as JSON, HTML, text and e-mail, for every contract type; the Jira comment and issue
property of a scope change; the feedback page; the client's copy of a budget alert) is searched
for the cost rates, the margins and the internal cost of the work, written every way a locale
could write them."""

from __future__ import annotations

import json
import re
from datetime import UTC

import pytest
from sqlalchemy import select, update

from reports.render import render_html, render_text
from service import create_app
from service.alerts.budget import run_alerts
from service.digest.links import feedback_secret, make_token
from service.digest.load import digest_for
from service.mailer import Mailer
from service.scope.engine import evaluate_issue
from service.store import schema
from service.store.clock import frozen_clock
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.money.test_budget_alerts import log_more
from tests.money.test_contracts import CONTRACTS
from tests.money.test_money_history import NOW, at, seed
from tests.scope.scope_support import issue_row
from tests.smtp_sink import running_sink
from tests.support import app_settings, go_live

# Cost rates no billing figure can produce by chance, and the margins they make.
COSTS = {"cost = 55": "cost = 41.17", "cost = 60": "cost = 43.89", "cost = 40": "cost = 37.13"}
SECRET_AMOUNTS = ["41.17", "43.89", "37.13", "49.33", "56.1", "32.87"]  # costs; 90.5-41.17 …


def secret_mapping(tmp_path, text: str = MAPPING_TOML):
    for old, new in COSTS.items():
        text = text.replace(old, new)
    return money_mapping(tmp_path, text)


def visible(html: str) -> str:
    """What a reader sees of a page: no tags, no style sheet ("margin: 0" is CSS, not money)."""
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", html)


def leaks(text: str) -> list[str]:
    spelled = [a for a in SECRET_AMOUNTS] + [a.replace(".", ",") for a in SECRET_AMOUNTS]
    found = [a for a in spelled if a in text]
    return found + [w for w in ("margin", "cost rate", "cost_rate") if w in text.lower()]


@pytest.mark.parametrize("contract", list(CONTRACTS))
def test_no_digest_shows_a_cost_rate_or_margin(engine, tmp_path, contract):
    mapping = secret_mapping(tmp_path, CONTRACTS[contract])
    seed(engine)
    with engine.begin() as conn:
        conn.execute(
            update(schema.issues).where(schema.issues.c.id == "2").values(status_category="done")
        )
    with engine.connect() as conn:
        digest = digest_for(conn, mapping, "MONEY", "2026-W53")
    for name, text in (
        ("json", json.dumps(digest)),
        ("html", visible(render_html(digest))),
        ("html source", render_html(digest).replace("margin:", "").replace("margin-", "")),
        ("text", render_text(digest)),
    ):
        assert leaks(text) == [], name


def test_the_jira_comment_and_property_show_no_cost_rate(engine, tmp_path):
    mapping = secret_mapping(tmp_path)
    row = issue_row("9", project_key="MONEY", key="MONEY-9", assignee="bob")
    row.update(created=at(2026, 12, 31, 9), updated=at(2026, 12, 31, 9))
    with engine.begin() as conn:
        conn.execute(schema.issues.insert().values(row))
        evaluate_issue(conn, mapping, "9", at(2026, 12, 31, 10).astimezone(UTC))
        payloads = conn.execute(select(schema.outbox.c.payload)).scalars().all()
    assert len(payloads) == 1
    text = json.dumps(payloads[0])
    assert "905" in text  # the price (10 h x 90.5) is there; what it costs us is not
    assert leaks(text) == []


def test_the_feedback_page_shows_no_money(db_url, tmp_path):
    path = tmp_path / "secret.toml"
    text = MAPPING_TOML
    for old, new in COSTS.items():
        text = text.replace(old, new)
    path.write_text(text)
    app = create_app(app_settings(db_url, mappings=str(path)), clock=frozen_clock(NOW))
    try:
        rt = app.extensions["scopewatch"]
        secret = feedback_secret(rt)
        assert secret is not None
        token = make_token(secret, "MONEY", "2026-W53", "n-1", now=NOW)
        page = app.test_client().get(f"/feedback/{token}")
        assert page.status_code == 200
        assert leaks(visible(page.get_data(as_text=True))) == []
    finally:
        app.extensions["scopewatch"].engine.dispose()


def test_the_clients_budget_alert_shows_no_cost_rate_margin_or_forecast(engine, tmp_path):
    text = MAPPING_TOML.replace(
        'digest = { tz = "Europe/Berlin" }',
        'digest = { tz = "Europe/Berlin", to = ["sponsor@money.example"] }\n'
        "alerts_to_client = true",
    )
    mapping = secret_mapping(tmp_path, text)
    seed(engine)
    log_more(engine, 2, at(2027, 1, 4, 9))  # past 90 and 100: the client's copy is due
    go_live(engine, "MONEY")
    with running_sink() as (sink, port):
        mailer = Mailer(f"smtp://127.0.0.1:{port}", "alerts@agency.example", retries=0)
        assert run_alerts(engine, mapping, mailer, NOW) == 2
        to_client = [m for m in sink.messages() if m["To"] == "sponsor@money.example"]
    assert len(to_client) == 1
    mail = str(to_client[0]["Subject"]) + "\n" + to_client[0].get_content()
    assert "€1,050.38" in mail  # the billed figure is there; what it cost us is not
    assert leaks(mail) == [] and "forecast" not in mail.lower() and "cost" not in mail.lower()
