"""`check_mapping`: valid files that will probably not do what their author wants."""

from __future__ import annotations

from dataclasses import replace

from mappings import check_mapping, parse_mapping
from tests.mappings import texts

PROJECT = texts.PROJECT + 'baseline = 2026-09-01T09:00:00Z\ndigest = { to = ["pm@acme.example"] }\n'


def warnings_for(text: str) -> list[str]:
    return check_mapping(parse_mapping(text, source="acme.toml"))


def test_a_complete_mapping_has_no_warnings() -> None:
    assert warnings_for(PROJECT) == []


def test_no_baseline_says_nothing_will_be_flagged_and_how_to_fix_it() -> None:
    text = PROJECT.replace("baseline = 2026-09-01T09:00:00Z\n", "")

    assert warnings_for(text) == [
        "acme.toml: projects[0] (ACME): no baseline date; flags nothing until a baseline is "
        "captured with `scopewatch baseline capture --project ACME`"
    ]


def test_categories_that_do_not_add_up_to_the_budget() -> None:
    text = PROJECT + 'categories = { "Backend" = 600, "Frontend" = 300 }\n'

    assert warnings_for(text) == [
        "acme.toml: projects[0] (ACME): category budgets add up to 900, "
        "the project budget is 1000 EUR"
    ]


def test_categories_that_add_up_do_not_warn() -> None:
    text = PROJECT + 'categories = { "Backend" = 600.5, "Frontend" = 399.5 }\n'

    assert warnings_for(text) == []


def test_no_digest_recipients() -> None:
    text = PROJECT.replace('digest = { to = ["pm@acme.example"] }\n', "")

    assert warnings_for(text) == [
        "acme.toml: projects[0] (ACME): digest has no recipients (`to`); no digest will be sent"
    ]


def test_each_project_is_checked() -> None:
    second = PROJECT.replace('key = "ACME"', 'key = "BETA"').replace("baseline = ", "# ")

    warnings = warnings_for(PROJECT + "\n" + second)

    assert len(warnings) == 1
    assert "projects[1] (BETA): no baseline date" in warnings[0]


def test_a_role_without_a_rate() -> None:
    # The loader refuses this in a file; a Mapping built in code can still hold it.
    text = PROJECT + '\n[rates]\ndeveloper = 85\n\n[people]\nann = "developer"\n'
    mapping = parse_mapping(text, source="acme.toml")
    mapping = replace(mapping, people=(*mapping.people, ("bob", "tester")))

    assert check_mapping(mapping) == [
        'acme.toml: people.bob: role "tester" has no rate in [rates]; '
        "their hours are priced at the project's default_rate"
    ]


def test_a_cost_above_the_billing_rate_is_a_warning_wherever_it_is() -> None:
    text = (
        PROJECT
        + "rates = { developer = { billing = 90, cost = 95 } }\n"
        + "person_rates = { bob = { billing = 100, cost = 100 } }\n"
        + "\n[[projects.rate_changes]]\nfrom = 2026-11-01\n"
        + "developer = { billing = 60, cost = 70 }\n"
        + "\n[rates]\ndeveloper = { billing = 85, cost = 90 }\n"
        + '\n[people]\nann = "developer"\n'
    )

    assert warnings_for(text) == [
        "acme.toml: rates.developer: cost 90 is above the billing rate 85",
        "acme.toml: projects[0] (ACME): rates.developer: cost 95 is above the billing rate 90",
        "acme.toml: projects[0] (ACME): rate_changes[0].developer: cost 70 is above the billing "
        "rate 60",
    ]


def test_a_role_on_a_clients_card_that_nobody_has_is_probably_misspelt() -> None:
    text = PROJECT + "rates = { developr = 95 }\n\n[rates]\ndeveloper = 85\n"

    assert warnings_for(text) == [
        "acme.toml: projects[0] (ACME): rates.developr: nobody in [people] has this role; "
        "is it misspelt?"
    ]


def test_a_role_priced_on_one_clients_card_only_warns_about_the_other_projects() -> None:
    beta = PROJECT.replace('key = "ACME"', 'key = "BETA"')
    text = PROJECT + "rates = { qa = 60 }\n\n" + beta + '\n[people]\nann = "qa"\n'

    assert warnings_for(text) == [
        'acme.toml: people.ann: role "qa" has no rate in [rates] nor in the rates of BETA; '
        "their hours there are priced at its default_rate"
    ]
