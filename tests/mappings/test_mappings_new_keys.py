"""The keys PRODUCT.md adds to a project and to [rates]: defaults, good values, located mistakes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mappings import Mapping, NonBillable, Rate, RateChange, Retainer, load_mapping
from tests.mappings.texts import PROJECT, load

RATES = "\n[rates]\ndeveloper = 85\ndesigner = 70\n"


def loaded(tmp_path: Path, text: str) -> Mapping:
    path = tmp_path / "ok.toml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


def test_a_project_without_the_new_keys_gets_their_defaults(tmp_path: Path) -> None:
    project = loaded(tmp_path, PROJECT).projects[0]

    assert (project.pm, project.locale, project.digest.grace_hours) == ((), "en_GB", 24)
    assert (project.contract, project.retainer) == ("time_and_materials", None)
    assert project.alerts == (50, 75, 90, 100)
    assert (project.feedback_alert_below, project.notify_client_on_flag) == (6, False)
    assert project.non_billable == NonBillable()
    assert (project.rates, project.person_rates, project.rate_changes) == ((), (), ())


@pytest.mark.parametrize(
    ("added", "attribute", "expected"),
    [
        (
            'pm = ["pm@agency.example", "lead@agency.example"]',
            "pm",
            ("pm@agency.example", "lead@agency.example"),
        ),
        ('locale = "de_DE"', "locale", "de_DE"),
        ('locale = "en_GB.UTF-8"', "locale", "en_GB"),  # as Babel names it
        ("digest = { grace_hours = 6.5 }", "digest.grace_hours", 6.5),
        ('contract = "fixed_price"', "contract", "fixed_price"),
        (
            'contract = "retainer"\nretainer = { hours_per_month = 80 }',
            "retainer",
            Retainer(hours_per_month=80),
        ),
        (
            'contract = "retainer"\nretainer = { money_per_month = 5000, carry_over = true }',
            "retainer",
            Retainer(money_per_month=5000, carry_over=True),
        ),
        ("alerts = [25, 100, 150]", "alerts", (25, 100, 150)),
        ("feedback_alert_below = 3", "feedback_alert_below", 3),
        ("notify_client_on_flag = true", "notify_client_on_flag", True),
        (
            'non_billable = { types = ["Support"], labels = ["internal"] }',
            "non_billable",
            NonBillable(types=("Support",), labels=("internal",)),
        ),
        (
            "rates = { developer = 95, designer = { billing = 80, cost = 50 } }",
            "rates",
            (("developer", Rate(95)), ("designer", Rate(80, cost=50))),
        ),
        (
            'person_rates = { "5b10a2844c20165700ede21g" = { billing = 120 } }',
            "person_rates",
            (("5b10a2844c20165700ede21g", Rate(120)),),
        ),
        (
            "\n[[projects.rate_changes]]\nfrom = 2026-11-01\ndeveloper = 90\n"
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01\n"
            "designer = { billing = 75, cost = 45 }\ndeveloper = 95",
            "rate_changes",
            (
                RateChange(date(2026, 11, 1), (("developer", Rate(90)),)),
                RateChange(
                    date(2027, 1, 1), (("designer", Rate(75, cost=45)), ("developer", Rate(95)))
                ),
            ),
        ),
    ],
)
def test_good_values_reach_the_model(
    tmp_path: Path, added: str, attribute: str, expected: Any
) -> None:
    project = loaded(tmp_path, PROJECT + added + "\n" + RATES).projects[0]
    value: Any = project
    for name in attribute.split("."):
        value = getattr(value, name)

    assert value == expected


def test_a_top_level_rate_may_give_billing_and_cost(tmp_path: Path) -> None:
    text = PROJECT + "\n[rates]\ndeveloper = 85\ndesigner = { billing = 70, cost = 40 }\n"
    mapping = loaded(tmp_path, text)

    assert mapping.rates == (("developer", Rate(85)), ("designer", Rate(70, cost=40)))
    assert mapping.rate_by_role == {"developer": 85, "designer": 70}


@pytest.mark.parametrize(
    ("added", "line", "key", "says"),
    [
        ('pm = "pm@agency.example"', 11, "projects[0].pm", "array of e-mail addresses"),
        ('pm = ["Ann Smith"]', 11, "projects[0].pm[0]", "e-mail address"),
        ('locale = "english"', 11, "projects[0].locale", 'locale name such as "en_GB"'),
        ('locale = "en-GB"', 11, "projects[0].locale", "locale name"),
        ("locale = 44", 11, "projects[0].locale", "non-empty string"),
        ("digest = { grace_hours = 0 }", 11, "projects[0].digest.grace_hours", "positive"),
        ('digest = { grace_hours = "1d" }', 11, "projects[0].digest.grace_hours", "positive"),
        ('contract = "hourly"', 11, "projects[0].contract", 'one of "time_and_materials"'),
        # A missing key is located at its table, as every missing key is.
        ('contract = "retainer"', 1, "projects[0].retainer", 'contract = "retainer" needs'),
        (
            "retainer = { hours_per_month = 80 }",
            11,
            "projects[0].retainer",
            'only goes with contract = "retainer"; this project\'s is "time_and_materials"',
        ),
        (
            'contract = "retainer"\nretainer = { hours_per_month = 80, money_per_month = 900 }',
            12,
            "projects[0].retainer",
            "exactly one",
        ),
        (
            'contract = "retainer"\nretainer = { carry_over = true }',
            12,
            "projects[0].retainer",
            "exactly one",
        ),
        (
            'contract = "retainer"\nretainer = { hours_per_month = -8 }',
            12,
            "projects[0].retainer.hours_per_month",
            "positive",
        ),
        (
            'contract = "retainer"\nretainer = { money_per_month = 0 }',
            12,
            "projects[0].retainer.money_per_month",
            "positive",
        ),
        (
            'contract = "retainer"\nretainer = { hours_per_month = 8, carry_over = "no" }',
            12,
            "projects[0].retainer.carry_over",
            "true or false",
        ),
        (
            'contract = "retainer"\nretainer = { hours_per_mnth = 8 }',
            12,
            "projects[0].retainer.hours_per_mnth",
            "did you mean hours_per_month?",
        ),
        ("alerts = 50", 11, "projects[0].alerts", "array of percentages"),
        ("alerts = [50, 1001]", 11, "projects[0].alerts[1]", "from 1 to 1000"),
        ("alerts = [0.5, 50]", 11, "projects[0].alerts[0]", "from 1 to 1000"),
        ("alerts = [90, 50]", 11, "projects[0].alerts", "ascending order, each once, got [90, 50]"),
        ("alerts = [50, 50]", 11, "projects[0].alerts", "ascending"),
        ("feedback_alert_below = 0", 11, "projects[0].feedback_alert_below", "1 to 10"),
        ("feedback_alert_below = 11", 11, "projects[0].feedback_alert_below", "1 to 10"),
        ("feedback_alert_below = 6.5", 11, "projects[0].feedback_alert_below", "whole score"),
        ("notify_client_on_flag = 1", 11, "projects[0].notify_client_on_flag", "true or false"),
        ('non_billable = { types = "Bug" }', 11, "projects[0].non_billable.types", "array"),
        ('non_billable = ["Bug"]', 11, "projects[0].non_billable", "must be a table"),
        (
            'non_billable = { label = ["internal"] }',
            11,
            "projects[0].non_billable.label",
            "did you mean labels?",
        ),
        ("rates = { developer = 0 }", 11, "projects[0].rates.developer", "positive"),
        ('rates = { developer = "95" }', 11, "projects[0].rates.developer", "positive number or"),
        (
            "rates = { developer = { billing = -95 } }",
            11,
            "projects[0].rates.developer.billing",
            "positive",
        ),
        (
            "rates = { developer = { billing = 95, cost = 0 } }",
            11,
            "projects[0].rates.developer.cost",
            "positive",
        ),
        (
            "rates = { developer = { cost = 50 } }",
            11,
            "projects[0].rates.developer.billing",
            "missing",
        ),
        (
            "rates = { developer = { billing = 95, cots = 50 } }",
            11,
            "projects[0].rates.developer.cots",
            "did you mean cost?",
        ),
        ("rates = 95", 11, "projects[0].rates", "must be a table"),
        (
            'person_rates = { "5b10a2844c20165700ede21g" = -120 }',
            11,
            "projects[0].person_rates.5b10a2844c20165700ede21g",
            "positive",
        ),
        ("rate_changes = 3", 11, "projects[0].rate_changes", "array of tables"),
        (
            "\n[[projects.rate_changes]]\ndeveloper = 90",
            12,
            "projects[0].rate_changes[0].from",
            "missing",
        ),
        (
            '\n[[projects.rate_changes]]\nfrom = "2027-01-01"\ndeveloper = 90',
            13,
            "projects[0].rate_changes[0].from",
            "a date",
        ),
        (
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01",
            12,
            "projects[0].rate_changes[0]",
            "names no role",
        ),
        (
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01\ndevelopr = 90",
            14,
            "projects[0].rate_changes[0].developr",
            "did you mean developer?",
        ),
        (
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01\ntester = 90",
            14,
            "projects[0].rate_changes[0].tester",
            "roles of [rates] or this project's rates (developer, designer)",
        ),
        (
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01\ndeveloper = 0",
            14,
            "projects[0].rate_changes[0].developer",
            "positive",
        ),
        (
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01\ndeveloper = 90\n"
            "\n[[projects.rate_changes]]\nfrom = 2026-11-01\ndeveloper = 95",
            17,
            "projects[0].rate_changes[1].from",
            "2026-11-01 is before 2027-01-01 of entry [0]: list them in date order",
        ),
        (
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01\ndeveloper = 90\n"
            "\n[[projects.rate_changes]]\nfrom = 2027-01-01\ndesigner = 95",
            17,
            "projects[0].rate_changes[1].from",
            "2027-01-01 is the date of entry [0] too",
        ),
    ],
)
def test_bad_values_of_the_new_keys_are_located(
    tmp_path: Path, added: str, line: int, key: str, says: str
) -> None:
    error = load(tmp_path, PROJECT + added + "\n" + RATES)

    assert (error.line, error.key) == (line, key), str(error)
    assert says in error.problem
    assert len(error.problems) == 1, str(error)  # one mistake, one message


@pytest.mark.parametrize(
    ("rates", "line", "key", "says"),
    [
        (
            "developer = { billing = 85, cots = 40 }",
            13,
            "rates.developer.cots",
            "did you mean cost?",
        ),
        ("developer = { billing = 0 }", 13, "rates.developer.billing", "positive"),
        ("developer = { billing = 85, cost = -1 }", 13, "rates.developer.cost", "positive"),
        ("developer = [85]", 13, "rates.developer", "positive number or { billing = …, cost = … }"),
    ],
)
def test_bad_top_level_rates_are_located(
    tmp_path: Path, rates: str, line: int, key: str, says: str
) -> None:
    error = load(tmp_path, PROJECT + f"\n[rates]\n{rates}\n")

    assert (error.line, error.key) == (line, key), str(error)
    assert says in error.problem


def test_a_role_may_be_priced_on_a_clients_card_alone(tmp_path: Path) -> None:
    text = PROJECT + "rates = { qa = 60 }\n" + RATES + '\n[people]\nann = "qa"\n'
    mapping = loaded(tmp_path, text)

    assert mapping.rate_for("ann", mapping.projects[0]) == 60


def test_a_role_priced_nowhere_is_refused_naming_the_cards_too(tmp_path: Path) -> None:
    text = PROJECT + "rates = { qa = 60 }\n" + RATES + '\n[people]\nann = "tester"\n'
    error = load(tmp_path, text)

    assert (error.line, error.key) == (18, "people.ann")
    assert error.problem == (
        'role "tester" is not in [rates] or any project\'s rates '
        "(roles there: developer, designer, qa)"
    )


def test_rate_for_prefers_the_person_then_the_clients_card_then_rates_then_default(
    tmp_path: Path,
) -> None:
    text = (
        PROJECT
        + "rates = { developer = 95 }\nperson_rates = { bob = 120 }\n"
        + "\n[rates]\ndeveloper = 85\ndesigner = { billing = 70, cost = 40 }\n"
        + '\n[people]\nann = "developer"\nbob = "developer"\ncid = "designer"\n'
    )
    mapping = loaded(tmp_path, text)
    acme = mapping.projects[0]

    assert mapping.rate_for("bob", acme) == 120  # their own rate, over their role's
    assert mapping.rate_for("ann", acme) == 95  # the client's card, over [rates]
    assert mapping.rate_for("cid", acme) == 70  # [rates]: the billing rate, never the cost
    assert mapping.rate_for("dan", acme) == 80  # no role: default_rate
    assert mapping.rate_for(None, acme) == 80
