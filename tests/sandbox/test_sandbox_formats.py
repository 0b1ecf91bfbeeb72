"""Jira's wire formats and the JQL parser, on their own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.sandbox import jql
from service.sandbox.errors import JiraError
from service.sandbox.formats import format_duration, jira_time, parse_duration, parse_jira_time


def test_instants_round_trip_in_jira_format() -> None:
    moment = datetime(2026, 11, 16, 10, 15, 30, 123000, tzinfo=UTC)
    assert jira_time(moment) == "2026-11-16T10:15:30.123+0000"
    assert parse_jira_time("2026-11-16T10:15:30.123+0000") == moment
    assert parse_jira_time("2026-11-16T11:15:30.123+01:00") == moment
    assert parse_jira_time("2026-11-16") == datetime(2026, 11, 16, tzinfo=UTC)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_jira_time("2026-11-16T10:15:30")


@pytest.mark.parametrize(
    ("text", "seconds", "shown"),
    [("1w", 144000, "1w"), ("1d 4h", 43200, "1d 4h"), ("90m", 5400, "1h 30m"), ("2", 120, "2m")],
)
def test_durations_use_jira_working_days(text: str, seconds: int, shown: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == shown


@pytest.mark.parametrize("text", ["", "soon", "3x", "1d later"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_jql_parses_clauses_and_order() -> None:
    query = jql.parse(
        'project in (ACME, "BETA") AND created >= "2026-09-01 09:00" ORDER BY key DESC'
    )
    assert query.clauses == (
        jql.Clause("project", "in", ("ACME", "BETA")),
        jql.Clause("created", ">=", ("2026-09-01 09:00",)),
    )
    assert query.order == (("key", True),)


def test_empty_jql_matches_everything() -> None:
    assert jql.parse("") == jql.Query((), ())


@pytest.mark.parametrize(
    "text",
    [
        "project = ",
        "project ACME",
        "(project = ACME)",
        "project = ACME OR key = X",
        "project in (ACME",
    ],
)
def test_bad_jql_is_a_jira_error(text: str) -> None:
    with pytest.raises(JiraError) as caught:
        jql.parse(text)
    assert caught.value.status == 400
