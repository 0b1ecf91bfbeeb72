"""Bad mapping files fail with one line that names the file, the line and the key."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mappings import ConfigError, load_mapping
from tests.mappings.texts import PROJECT, edit, load


def test_the_minimal_text_is_valid(tmp_path: Path) -> None:
    # Every other test here breaks this text in one place, so it must load as it is.
    path = tmp_path / "ok.toml"
    path.write_text(PROJECT, encoding="utf-8")
    project = load_mapping(path).projects[0]

    assert project.baseline is None
    assert project.digest.to == ()
    assert load_mapping(path).jira.story_points_field == "customfield_10016"


def test_message_is_one_line_with_file_line_and_key(tmp_path: Path) -> None:
    error = load(tmp_path, edit("budget = 1000", 'budget = "lots"'))

    assert str(error) == (
        f'{tmp_path / "bad.toml"}:5: projects[0].budget: must be a positive number, got "lots"'
    )
    assert (error.line, error.key) == (5, "projects[0].budget")


@pytest.mark.parametrize(
    ("text", "line", "key", "says"),
    [
        (edit("budget = 1000", "budget = 0"), 5, "projects[0].budget", "positive"),
        (edit("budget = 1000", "budget = true"), 5, "projects[0].budget", "positive"),
        (edit("default_rate = 80", "default_rate = -80"), 10, "projects[0].default_rate", "pos"),
        (edit('currency = "EUR"', 'currency = "eur"'), 4, "projects[0].currency", "currency"),
        (edit('key = "ACME"', 'key = "acme"'), 2, "projects[0].key", "project key"),
        (edit('key = "ACME"', 'key = "A"'), 2, "projects[0].key", "project key"),
        (edit("start = 2026-09-01", 'start = "2026-09-01"'), 6, "projects[0].start", "a date"),
        (edit("end = 2026-12-31", "end = 2026-08-31"), 7, "projects[0].end", "before start"),
        (edit("budget = 1000\n", ""), 1, "projects[0].budget", "missing"),
        (PROJECT + 'exclude_types = ["Bug", 3]', 11, "projects[0].exclude_types[1]", "string"),
        (PROJECT + "categories = { Backend = 0 }", 11, "projects[0].categories.Backend", "pos"),
        (PROJECT + 'categories = ["Backend"]', 11, "projects[0].categories", "table"),
        (PROJECT + 'digest = { day = "Monday" }', 11, "projects[0].digest.day", "MON, TUE"),
        (PROJECT + "digest = { hour = 24 }", 11, "projects[0].digest.hour", "0 to 23"),
        (PROJECT + 'digest = { tz = "CET+1" }', 11, "projects[0].digest.tz", "time zone"),
        (PROJECT + 'digest = { to = "a@b.example" }', 11, "projects[0].digest.to", "array"),
        (PROJECT + 'digest = { to = ["Ann Smith"] }', 11, "projects[0].digest.to[0]", "e-mail"),
        ("", None, "projects", "at least one"),
        ("projects = []", 1, "projects", "one or more"),
        ('[jira]\nflagged_field = "Flagged"\n' + PROJECT, 2, "jira.flagged_field", "customfield_"),
        (
            '[jira]\nscope_change_label = "scope change"\n' + PROJECT,
            2,
            "jira.scope_change_label",
            "no spaces",
        ),
        (
            '[jira]\nrejected_label = "scope-approved"\n' + PROJECT,
            2,
            "jira.rejected_label",
            "must differ from approved_label",
        ),
        (PROJECT + "\n[rates]\ndeveloper = 0\n", 13, "rates.developer", "positive"),
        (PROJECT + "\n[estimates]\nStory = -8\n", 13, "estimates.Story", "positive"),
        (PROJECT + '\n[statuses]\nblocked = "Blocked"\n', 13, "statuses.blocked", "array"),
        (
            PROJECT + '\n[statuses]\ndone_categories = ["Done"]\n',
            13,
            "statuses.done_categories[0]",
            "status category",
        ),
    ],
)
def test_bad_values_are_located(
    tmp_path: Path, text: str, line: int | None, key: str, says: str
) -> None:
    error = load(tmp_path, text)

    assert (error.line, error.key) == (line, key), str(error)
    assert says in error.problem


def test_an_error_in_the_second_project_points_into_it(tmp_path: Path) -> None:
    second = PROJECT.replace('key = "ACME"', 'key = "BETA"').replace("budget = 1000", "budget = -1")
    error = load(tmp_path, PROJECT + "\n" + second)

    assert (error.line, error.key) == (16, "projects[1].budget")


def test_duplicate_project_keys(tmp_path: Path) -> None:
    error = load(tmp_path, PROJECT + "\n" + PROJECT)

    assert (error.line, error.key) == (13, "projects[1].key")
    assert error.problem == '"ACME" appears twice'


def test_digest_as_a_sub_table_is_located_in_its_project(tmp_path: Path) -> None:
    # `[projects.digest]` belongs to the [[projects]] entry just above it, here the second.
    second = PROJECT.replace('key = "ACME"', 'key = "BETA"')
    text = PROJECT + "\n" + second + '\n[projects.digest]\nto = ["pm@beta.example"]\nhour = 25\n'
    error = load(tmp_path, text)

    assert (error.line, error.key) == (25, "projects[1].digest.hour")


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (edit("hours_per_point = 6", "hours_per_pont = 6"), 8, "projects[0].hours_per_pont"),
        (PROJECT + "\n[rate]\ndeveloper = 85\n", 12, "rate"),
        ('[jira]\nstory_point_field = "x"\n' + PROJECT, 2, "jira.story_point_field"),
        (PROJECT + 'digest = { to = [], weekday = "MON" }', 11, "projects[0].digest.weekday"),
        (PROJECT + "\n[statuses]\ndone = []\n", 13, "statuses.done"),
    ],
)
def test_unknown_keys_are_errors_that_list_the_valid_ones(
    tmp_path: Path, text: str, line: int, key: str
) -> None:
    error = load(tmp_path, text)

    assert (error.line, error.key) == (line, key), str(error)
    assert error.problem.startswith("unknown key")
    assert "valid keys:" in error.problem


def test_an_unknown_key_suggests_the_near_miss(tmp_path: Path) -> None:
    error = load(tmp_path, edit("hours_per_point = 6", "hours_per_pont = 6"))

    assert "did you mean hours_per_point?" in error.problem
    assert "weekly_capacity_hours" in error.problem  # the full list, not just the guess


def test_syntax_error_carries_tomls_line_and_column(tmp_path: Path) -> None:
    error = load(tmp_path, edit("budget = 1000", "budget = "))

    assert (error.line, error.column, error.key) == (5, 10, "")
    assert str(error) == f"{tmp_path / 'bad.toml'}:5:10: invalid TOML: Invalid value"


def test_syntax_error_at_end_of_file_points_at_the_last_line(tmp_path: Path) -> None:
    error = load(tmp_path, PROJECT + 'exclude_types = ["Bug",\n')

    assert error.line == 11
    assert "invalid TOML" in error.problem


def test_a_local_baseline_is_refused_with_the_reason(tmp_path: Path) -> None:
    error = load(tmp_path, PROJECT + "baseline = 2026-09-01T09:00:00")

    assert (error.line, error.key) == (11, "projects[0].baseline")
    assert "no UTC offset" in error.problem
    assert "2026-09-01T09:00:00Z" in error.problem  # shows how to fix it


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-09-01T09:00:00Z", datetime(2026, 9, 1, 9, tzinfo=UTC)),
        ("2026-09-01T11:00:00+02:00", datetime(2026, 9, 1, 9, tzinfo=UTC)),
        ("2026-09-01", datetime(2026, 9, 1, 0, tzinfo=UTC)),
    ],
)
def test_baseline_is_an_aware_instant(tmp_path: Path, value: str, expected: datetime) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(PROJECT + f"baseline = {value}\n", encoding="utf-8")
    baseline = load_mapping(path).projects[0].baseline

    assert baseline == expected
    assert baseline is not None and baseline.tzinfo is not None


def test_a_person_whose_role_has_no_rate(tmp_path: Path) -> None:
    person = '"5f8a1c2b3d4e5f6a7b8c9d01" = "tester"'
    text = PROJECT + f"\n[rates]\ndeveloper = 85\n\n[people]\n{person}\n"
    error = load(tmp_path, text)

    assert (error.line, error.key) == (16, "people.5f8a1c2b3d4e5f6a7b8c9d01")
    assert error.problem == 'role "tester" is not in [rates] (roles there: developer)'


def test_a_data_center_username_with_a_dot_is_quoted_in_the_key(tmp_path: Path) -> None:
    text = PROJECT + '\n[people]\n"j.smith" = "developer"\n'
    error = load(tmp_path, text)

    assert (error.line, error.key) == (13, 'people."j.smith"')


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)

    assert str(caught.value) == f"{path}: no such file"
    assert caught.value.line is None


def test_config_error_survives_pickling() -> None:
    # Errors cross process boundaries (worker pools); a lost message would be a silent failure.
    error = ConfigError("m.toml", 3, "projects[0].budget", "must be a positive number, got 0")

    assert str(pickle.loads(pickle.dumps(error))) == str(error)
