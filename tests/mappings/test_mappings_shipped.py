"""The two mapping files we ship: they load, say what the sandbox seed needs, and locate errors."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mappings import ConfigError, check_mapping, load_mapping, parse_mapping

PACKAGE = Path(__file__).resolve().parents[2] / "mappings"
SANDBOX = PACKAGE / "sandbox.toml"
EXAMPLE = PACKAGE / "example.toml"
ASSIGNMENT = re.compile(r'^\s*("[^"]*"|[A-Za-z0-9_-]+)\s*=')


def test_sandbox_matches_the_seed() -> None:
    mapping = load_mapping(SANDBOX)

    assert mapping.source == str(SANDBOX)
    assert mapping.jira.story_points_field == "customfield_10016"
    assert mapping.jira.flagged_field == "customfield_10021"
    assert mapping.jira.impact_hours_field == "customfield_10150"
    assert mapping.jira.impact_cost_field == "customfield_10151"
    assert (
        mapping.jira.scope_change_label,
        mapping.jira.approved_label,
        mapping.jira.rejected_label,
    ) == ("scope-change", "scope-approved", "scope-rejected")
    assert [p.key for p in mapping.projects] == ["ACME", "BETA"]
    assert mapping.rate_by_role == {"developer": 85, "designer": 70, "pm": 95}
    assert mapping.role_by_person == {
        "5f8a1c2b3d4e5f6a7b8c9d01": "developer",
        "5f8a1c2b3d4e5f6a7b8c9d02": "developer",
        "5f8a1c2b3d4e5f6a7b8c9d03": "designer",
        "5f8a1c2b3d4e5f6a7b8c9d04": "pm",
        "5f8a1c2b3d4e5f6a7b8c9d05": "developer",
    }
    assert mapping.hours_by_type == {"Story": 8, "Task": 4, "Epic": 40}
    assert mapping.statuses.blocked == ("Blocked",)
    assert mapping.statuses.waiting_on_client == ("Waiting for client",)
    assert mapping.statuses.done_categories == ("done",)


def test_sandbox_acme() -> None:
    acme = load_mapping(SANDBOX).project("ACME")

    assert acme is not None
    assert (acme.client, acme.currency, acme.budget) == ("Acme Corp", "EUR", 120000)
    assert (acme.start, acme.end) == (date(2026, 9, 1), date(2027, 1, 29))
    assert acme.baseline == datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    assert (acme.hours_per_point, acme.weekly_capacity_hours, acme.default_rate) == (6, 120, 85)
    assert acme.exclude_types == ("Bug",)
    assert acme.digest.to == ("pm@acme.example",)
    assert (acme.digest.day, acme.digest.hour, acme.digest.tz) == ("MON", 8, "Europe/Berlin")
    assert acme.categories == (("Backend", 60000), ("Frontend", 40000), ("Design", 20000))


def test_sandbox_beta() -> None:
    beta = load_mapping(SANDBOX).project("BETA")

    assert beta is not None
    assert (beta.client, beta.currency, beta.budget) == ("Beta GmbH", "EUR", 40000)
    assert (beta.start, beta.end) == (date(2026, 10, 1), date(2026, 12, 23))
    assert beta.baseline == datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert (beta.hours_per_point, beta.weekly_capacity_hours, beta.default_rate) == (5, 60, 80)
    assert beta.exclude_types == ()
    assert beta.digest.to == ("owner@beta.example",)
    assert (beta.digest.day, beta.digest.hour, beta.digest.tz) == ("MON", 9, "Europe/Vienna")
    assert beta.categories == (("Backend", 25000), ("Frontend", 15000))


@pytest.mark.parametrize("path", [SANDBOX, EXAMPLE], ids=["sandbox", "example"])
def test_shipped_files_give_no_warnings(path: Path) -> None:
    assert check_mapping(load_mapping(path)) == []


def test_rate_for_uses_the_role_rate_else_the_project_default() -> None:
    mapping = load_mapping(SANDBOX)
    beta = mapping.project("BETA")
    assert beta is not None

    assert mapping.rate_for("5f8a1c2b3d4e5f6a7b8c9d03", beta) == 70  # designer
    assert mapping.rate_for("5f8a1c2b3d4e5f6a7b8c9d04", beta) == 95  # pm
    # The client's account has no role, and an unassigned issue has nobody: default_rate.
    assert mapping.rate_for("5f8a1c2b3d4e5f6a7b8c9d06", beta) == 80
    assert mapping.rate_for(None, beta) == 80


def _assignment_lines(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(n, line) for n, line in enumerate(lines, start=1) if ASSIGNMENT.match(line)]


@pytest.mark.parametrize("path", [SANDBOX, EXAMPLE], ids=["sandbox", "example"])
def test_every_key_of_the_shipped_files_is_located(path: Path) -> None:
    # A bare time of day is the wrong type for every key (`true` is not: some keys are flags), so
    # each edit must fail on exactly that line.
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in _assignment_lines(path):
        key = ASSIGNMENT.match(line)[1].strip('"')  # type: ignore[index]
        broken = lines.copy()
        broken[number - 1] = f"{line.split('=', 1)[0]}= 07:32:00"

        with pytest.raises(ConfigError) as caught:
            parse_mapping("\n".join(broken), source=str(path))

        located = caught.value.key.rsplit(".", 1)[-1].strip('"')
        assert (caught.value.line, located) == (number, key), line
