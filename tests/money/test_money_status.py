"""What the PM reads of a project's money in `project status` and on the cockpit: the contract,
the budget used, the alerts crossed, the forecast overrun and the margin; and one total of
several projects in one currency when asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from service.alerts.budget import run_alerts
from service.cli import main
from service.mailer import Mailer
from service.store import schema
from service.store.engine import make_engine
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.money.test_budget_alerts import log_more
from tests.money.test_money_history import NOW, at, seed
from tests.money.test_no_cost_for_clients import visible
from tests.smtp_sink import running_sink

WEST = """
[[projects]]
key = "WEST"
client = "West Inc"
currency = "USD"
budget = 5000.50
start = 2026-12-01
end = 2027-03-26
hours_per_point = 6
weekly_capacity_hours = 40
default_rate = 100.10

[[exchange_rates]]
from = 2026-01-01
currency = "USD"
to = "EUR"
rate = 0.92

[[exchange_rates]]
from = 2027-01-05
currency = "USD"
to = "EUR"
rate = 0.9137
"""
# Everyone's hour has a cost rate, so the margin is known.
PEOPLE = (
    "person_rates = { ann = { billing = 120, cost = 70 }, zed = { billing = 85.25, cost = 50 } }"
)
AS_OF = "2027-01-05T09:00:00Z"  # NOW


@pytest.fixture
def world(db_url: str, tmp_path, monkeypatch) -> Iterator[Any]:
    """MONEY past 50 and 75 % (and both alerts mailed), WEST in dollars with nothing spent."""
    text = MAPPING_TOML.replace("person_rates = { ann = 120 }", PEOPLE) + WEST
    mapping = money_mapping(tmp_path, text)
    engine = make_engine(db_url)
    seed(engine)
    with engine.begin() as conn:  # one issue done: a forecast can be made
        conn.execute(
            update(schema.issues).where(schema.issues.c.id == "2").values(status_category="done")
        )
    with running_sink() as (_, port):
        mailer = Mailer(f"smtp://127.0.0.1:{port}", "alerts@agency.example", retries=0)
        run_alerts(engine, mapping, mailer, NOW)
        log_more(engine, 2, at(2027, 1, 4, 9))  # 1050.38: past 90 and 100
        run_alerts(engine, mapping, mailer, NOW + timedelta(hours=1))
        run_alerts(engine, mapping, mailer, NOW + timedelta(days=7, hours=1))  # the weekly repeat
    engine.dispose()
    monkeypatch.setenv("SCOPEWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("SCOPEWATCH_MAPPINGS", str(tmp_path / "money.toml"))
    yield mapping


def status(*args: str) -> Any:
    return CliRunner().invoke(main, ["project", "status", *args])


def lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_project_status_shows_the_money_for_the_agency(world):
    result = status("MONEY", "--as-of", "2027-01-12T10:00:00Z")
    assert result.exit_code == 0, result.output
    shown = lines(result.output)
    money = shown[shown.index("money (the agency's eyes only):") + 1 :]
    assert money == [
        "contract: time and materials (the budget is a cap)",
        "budget used: €1,050.38 of €1,000 (105%)",
        "alerts sent: 50% on 2027-01-05 09:00 UTC; 75% on 2027-01-05 09:00 UTC; "
        "forecast overrun on 2027-01-05 09:00 UTC; 90% on 2027-01-05 10:00 UTC; "
        "100% on 2027-01-05 10:00 UTC, repeated 1×, last on 2027-01-12 10:00 UTC",
        "forecast overrun: expected final cost €2,100.75, €1,100.75 over the budget",
        # 1050.3758 billed; cost 12.50 + 53.33 + 82.50 + 120 + 210 + 240 (warranty) + 140
        "margin: €192.04 (billed €1,050.38, cost €858.33)",
        "not billed: 4 h, worth €399.96",
    ]
    as_json = json.loads(status("MONEY", "--as-of", AS_OF, "--json").output)["money"]
    assert as_json["contract"] == "time_and_materials"
    assert f"{as_json['internal']['margin']:.2f}" == "192.04"


@pytest.mark.parametrize(
    ("as_of", "budget", "rate"),
    [
        ("2027-01-04T12:00:00Z", "€5,600.46", "1 USD = 0.92 EUR (rate of 2026-01-01)"),
        ("2027-01-05", "€5,568.96", "1 USD = 0.9137 EUR (rate of 2027-01-05)"),
    ],
)
def test_one_total_in_euro_at_the_rate_in_force_on_the_as_of_day(world, as_of, budget, rate):
    result = status("--as-of", as_of, "--total-in", "eur")
    assert result.exit_code == 0, result.output
    shown = lines(result.output)
    day = as_of[:10]
    total = shown[shown.index(f"Total in EUR of 2 projects, as of {day}:") + 1 :]
    assert total == [
        f"budget: {budget}",  # 1000 + 5000.50 x the rate, rounded once
        "spent: €1,050.38",
        "forecast: unknown: no forecast yet for WEST",
        f"rates: {rate}",
    ]


def test_a_currency_without_a_rate_gives_a_message_not_a_sum(world):
    result = status("--as-of", AS_OF, "--total-in", "GBP")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "scopewatch: No total in GBP: no exchange rate into GBP in force on 2027-01-05 for "
        "MONEY (EUR), WEST (USD); add one to [[exchange_rates]] in the mapping"
    )
    assert "£" not in result.output
    wrong = status("--total-in", "EUROS")
    assert wrong.exit_code == 2 and "not an ISO 4217 currency code" in wrong.output


@pytest.fixture
def cockpit(world, db_url: str, tmp_path) -> Iterator[Any]:
    from service import create_app
    from service.store.clock import frozen_clock
    from tests.support import app_settings
    from tests.web.cockpit_support import SECRET_KEY, add_people

    settings = app_settings(db_url, mappings=str(tmp_path / "money.toml"), secret_key=SECRET_KEY)
    app = create_app(settings, clock=frozen_clock(at(2027, 1, 12, 11)))  # 10:00 UTC
    add_people(app)
    yield app
    app.extensions["scopewatch"].engine.dispose()


def page_text(client: Any, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return " ".join(visible(response.get_data(as_text=True)).split())


@pytest.mark.parametrize("who", ["pm", "viewer"])
def test_the_cockpit_shows_the_money_and_a_total_to_the_agency(cockpit, who):
    from tests.web.cockpit_support import PM, VIEWER, log_in

    client = cockpit.test_client()
    assert log_in(client, PM if who == "pm" else VIEWER).status_code == 302
    project = page_text(client, "/projects/MONEY")
    assert (
        "Money this week (the agency's eyes only) Contract time and materials (the budget is a "
        "cap) Budget used €1,050.38 of €1,000 (105%) Alerts sent 50% on 2027-01-05 09:00 UTC;"
    ) in project
    assert "100% on 2027-01-05 10:00 UTC, repeated 1×, last on 2027-01-12 10:00 UTC" in project
    assert "Forecast overrun expected final cost €2,100.75, €1,100.75 over the budget" in project
    assert "Margin €192.04 (billed €1,050.38, cost €858.33)" in project

    home = page_text(client, "/")
    assert home.count("Money this week") == 2  # MONEY and WEST
    assert "Margin €192.04" in home and "Total in EUR" not in home
    total = page_text(client, "/?total_in=EUR")
    assert (
        "In EUR, at the exchange rates in force on 2027-01-12; this week's figures. "
        "Budget €5,568.96 Spent €1,050.38 Forecast unknown: no forecast yet for WEST "
        "Rates 1 USD = 0.9137 EUR (rate of 2027-01-05)"
    ) in total
    missing = page_text(client, "/?total_in=GBP")
    assert "No total in GBP: no exchange rate into GBP in force on 2027-01-12 for MONEY (EUR)" in (
        missing
    )
    assert "Budget €" not in missing.split("Total of all projects")[1].split("Money this week")[0]


def test_no_client_facing_page_shows_the_money_panel(cockpit):
    from service.digest.links import feedback_secret, make_token
    from tests.web.cockpit_support import log_in

    client = cockpit.test_client()
    log_in(client)
    preview = page_text(client, "/projects/MONEY/digest")  # what the client will be sent
    assert "Margin" not in preview and "€192.04" not in preview and "€858.33" not in preview
    secret = feedback_secret(cockpit.extensions["scopewatch"])
    assert secret is not None
    token = make_token(secret, "MONEY", "2027-W01", "n-1", now=NOW)
    feedback = page_text(cockpit.test_client(), f"/feedback/{token}")
    assert "Margin" not in feedback and "€192.04" not in feedback


def test_the_cockpit_total_defaults_to_the_configured_currency(world, db_url, tmp_path):
    from service import create_app
    from service.store.clock import frozen_clock
    from tests.support import app_settings
    from tests.web.cockpit_support import SECRET_KEY, add_people, log_in

    settings = app_settings(
        db_url, mappings=str(tmp_path / "money.toml"), secret_key=SECRET_KEY, total_in="EUR"
    )
    app = create_app(settings, clock=frozen_clock(at(2027, 1, 4, 13)))  # 12:00 UTC
    try:
        add_people(app)
        client = app.test_client()
        log_in(client)
        assert "Budget €5,600.46 Spent €1,050.38" in page_text(client, "/")  # at 0.92
        assert "Budget €5,600.46" not in page_text(client, "/?total_in=")  # the PM chose none
    finally:
        app.extensions["scopewatch"].engine.dispose()


def test_the_total_in_json_keeps_exact_amounts_and_the_rate_used(world):
    result = status("--as-of", AS_OF, "--total-in", "EUR", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["project"] for p in data["projects"]] == ["MONEY", "WEST"]
    total = data["total"]
    assert (total["currency"], total["on"], total["budget"], total["spent"]) == (
        "EUR", "2027-01-05", "5568.96", "1050.38",
    )  # fmt: skip
    assert total["used"] == [
        {"start": "2027-01-05", "currency": "USD", "to": "EUR", "rate": "0.9137"}
    ]
