"""JQL search on both APIs, including paging through thousands of issues."""

from __future__ import annotations

import jira
import pytest
import requests

from service.sandbox import SandboxServer


@pytest.fixture
def bulk(sandbox: SandboxServer, http: requests.Session) -> int:
    made = http.post(f"{sandbox.url}/_sandbox/bulk", json={"project": "BETA", "count": 5000})
    assert made.status_code == 201
    return 5000 + 5  # plus the seeded BETA issues


def test_enhanced_search_pages_through_5000_issues(client: jira.JIRA, bulk: int) -> None:
    issues = client.enhanced_search_issues("project = BETA", maxResults=0, fields="summary")

    keys = [i.key for i in issues]
    assert len(keys) == bulk
    assert len(set(keys)) == bulk  # no page repeated or skipped


def test_ids_only_come_in_pages_of_up_to_5000(
    sandbox: SandboxServer, http: requests.Session, bulk: int
) -> None:
    url = f"{sandbox.url}/rest/api/3/search/jql"

    first = http.post(
        url, json={"jql": "project = BETA ORDER BY key ASC", "maxResults": 5000, "fields": ["key"]}
    ).json()
    second = http.post(
        url,
        json={
            "jql": "project = BETA ORDER BY key ASC",
            "maxResults": 5000,
            "fields": ["key"],
            "nextPageToken": first["nextPageToken"],
        },
    ).json()

    assert len(first["issues"]) == 5000 and first["isLast"] is False
    assert len(second["issues"]) == bulk - 5000 and second["isLast"] is True
    assert "nextPageToken" not in second
    assert first["issues"][0]["key"] == "BETA-1" and "fields" not in first["issues"][0]


def test_pages_with_fields_are_capped_at_100(
    sandbox: SandboxServer, http: requests.Session, bulk: int
) -> None:
    page = http.get(
        f"{sandbox.url}/rest/api/3/search/jql",
        params={"jql": "project = BETA", "maxResults": 1000, "fields": "*all"},
    ).json()
    assert len(page["issues"]) == 100


def test_classic_search_pages_with_start_at_and_total(
    sandbox: SandboxServer, bulk: int, login: tuple[str, str]
) -> None:
    # Without server info the library treats the site as Server and uses /search with startAt.
    classic = jira.JIRA(server=sandbox.url, basic_auth=login, max_retries=0, get_server_info=False)

    issues = classic.search_issues(
        "project = BETA ORDER BY key ASC", maxResults=False, fields="summary"
    )

    assert len(issues) == bulk
    assert issues.total == bulk
    assert [i.key for i in issues[:3]] == ["BETA-1", "BETA-2", "BETA-3"]


def test_classic_search_page_shape(sandbox: SandboxServer, http: requests.Session) -> None:
    page = http.get(
        f"{sandbox.url}/rest/api/2/search",
        params={"jql": "project = ACME", "startAt": 30, "maxResults": 10},
    ).json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (30, 10, 31)
    assert len(page["issues"]) == 1


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        (
            'project = ACME AND created >= "2026-09-01 09:00"',
            {"ACME-27", "ACME-28", "ACME-29", "ACME-30", "ACME-31"},
        ),
        ('project = ACME AND status = "Waiting for client"', {"ACME-12"}),
        ("project = ACME AND status in (Blocked, 'Waiting for client')", {"ACME-11", "ACME-12"}),
        ("key in (ACME-1, acme-2)", {"ACME-1", "ACME-2"}),
        ("project in (BETA) AND statusCategory = Done", {"BETA-1", "BETA-3"}),
        ("labels = client-request AND updated >= '2026-11-01'", {"ACME-27", "ACME-31"}),
        ("project = ACME AND issuetype = Risk", {"ACME-24"}),
    ],
)
def test_jql_subset(client: jira.JIRA, jql: str, expected: set[str]) -> None:
    found = client.enhanced_search_issues(jql, maxResults=0, fields="key")
    assert {i.key for i in found} == expected


def test_order_by(client: jira.JIRA) -> None:
    found = client.enhanced_search_issues(
        "project = ACME ORDER BY created DESC", maxResults=3, fields="created"
    )
    assert [i.key for i in found] == ["ACME-31", "ACME-30", "ACME-29"]


@pytest.mark.parametrize(
    ("jql", "says"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("colour = red", "Field 'colour' does not exist"),
        ("project = ACME OR project = BETA", "Error in the JQL Query"),
        ("created >= tomorrow", "Date value 'tomorrow' for field 'created' is invalid."),
        ("project = ACME ORDER BY colour", "Field 'colour' does not exist"),
        ("assignee = currentUser()", "Error in the JQL Query"),
    ],
)
def test_bad_jql_is_a_400_in_jira_shape(
    sandbox: SandboxServer, http: requests.Session, jql: str, says: str
) -> None:
    answer = http.get(f"{sandbox.url}/rest/api/3/search/jql", params={"jql": jql})

    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"errorMessages", "errors"}
    assert says in body["errorMessages"][0]
