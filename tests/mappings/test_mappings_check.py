"""`check_mapping`: valid files that will probably not do what their author wants."""

from __future__ import annotations

from dataclasses import replace

from mappings import check_mapping, parse_mapping

PROJECT = """\
[[projects]]
key = "ACME"
client = "Acme Corp"
currency = "EUR"
budget = 1000
start = 2026-09-01
end = 2026-12-31
baseline = 2026-09-01T09:00:00Z
hours_per_point = 6
weekly_capacity_hours = 40
default_rate = 80
digest = { to = ["pm@acme.example"] }
"""


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
