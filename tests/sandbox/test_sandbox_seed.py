"""The default seed: the identities and the story the rest of scopewatch's tests rely on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jira
import pytest

from service.sandbox import SandboxServer, SeedError, create_sandbox_app, load_seed

BASELINE = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def _created(issue: Any) -> datetime:
    return datetime.strptime(issue.fields.created, "%Y-%m-%dT%H:%M:%S.%f%z")


@pytest.fixture
def acme(client: jira.JIRA) -> list[Any]:
    return list(
        client.enhanced_search_issues("project = ACME ORDER BY key", maxResults=0, fields="*all")
    )


def test_projects_and_people(client: jira.JIRA) -> None:
    projects = {p.key: p for p in client.projects()}
    assert (projects["ACME"].id, projects["ACME"].name) == ("10000", "Acme Portal")
    assert projects["ACME"].projectCategory.name == "Acme Corp"
    assert (projects["BETA"].id, projects["BETA"].name) == ("10001", "Beta Shop")
    names = {n: client.user(f"5f8a1c2b3d4e5f6a7b8c9d0{n}").displayName for n in range(1, 7)}
    assert names == {
        1: "Alice Dev",
        2: "Bob Backend",
        3: "Carol Design",
        4: "Dave PM",
        5: "Erin Frontend",
        6: "Casey Client",
    }


def test_fields_list_has_the_custom_fields(client: jira.JIRA) -> None:
    fields = {f["id"]: f for f in client.fields()}
    assert fields["customfield_10016"]["name"] == "Story point estimate"
    assert fields["customfield_10020"]["name"] == "Sprint"
    assert fields["customfield_10021"]["name"] == "Flagged"
    assert fields["customfield_10150"]["schema"]["type"] == "number"
    assert fields["customfield_10151"]["name"] == "Scope impact cost"
    assert {
        "summary",
        "status",
        "assignee",
        "timetracking",
        "labels",
        "components",
        "fixVersions",
        "issuetype",
        "project",
        "parent",
        "created",
        "updated",
    } <= set(fields)


def test_baseline_and_new_scope(acme: list[Any]) -> None:
    before = [i for i in acme if _created(i) < BASELINE]
    after = {i.key: i.fields.issuetype.name for i in acme if _created(i) >= BASELINE}

    assert len(before) >= 25
    assert all(datetime(2026, 8, 24, tzinfo=UTC) <= _created(i) for i in before)
    assert after == {
        "ACME-27": "Story",
        "ACME-28": "Bug",
        "ACME-29": "Sub-task",
        "ACME-30": "Story",
        "ACME-31": "Task",
    }
    subtask = next(i for i in acme if i.key == "ACME-29")
    assert _created(next(i for i in acme if i.key == subtask.fields.parent.key)) < BASELINE


def test_states_the_digest_needs(acme: list[Any]) -> None:
    statuses = {i.key: i.fields.status.name for i in acme}
    assert list(statuses.values()).count("Blocked") == 1
    assert list(statuses.values()).count("Waiting for client") == 1
    assert [i.key for i in acme if i.fields.customfield_10021] == ["ACME-16"]
    assert {i.fields.issuetype.name for i in acme} >= {
        "Epic",
        "Story",
        "Task",
        "Bug",
        "Sub-task",
        "Risk",
        "Question",
    }
    done = [i for i in acme if i.fields.status.statusCategory.key == "done"]
    assert done and all(i.fields.resolutiondate for i in done)
    blocks = [lk for i in acme for lk in i.fields.issuelinks if hasattr(lk, "outwardIssue")]
    assert len(blocks) >= 3 and {lk.type.name for lk in blocks} == {"Blocks"}
    assert all(
        i.fields.timeoriginalestimate or i.fields.customfield_10016
        for i in acme
        if i.fields.issuetype.name in ("Story", "Task")
    )


def test_worklogs_span_the_weeks(client: jira.JIRA) -> None:
    worklogs = client.worklogs("ACME-16")
    started = sorted(w.started for w in worklogs)
    assert started[0] >= "2026-09-01" and started[-1] <= "2026-11-21"
    assert len({s[:10] for s in started}) > 10
    assert all(0 < w.timeSpentSeconds <= 8 * 3600 for w in worklogs)


def test_the_seed_is_deterministic(default_seed: dict[str, Any]) -> None:
    one = create_sandbox_app(default_seed).test_client().get("/rest/api/2/issue/ACME-16").json
    two = create_sandbox_app(default_seed).test_client().get("/rest/api/2/issue/ACME-16").json
    assert one == two


def test_a_custom_seed_file_is_used(
    tmp_path: Path, default_seed: dict[str, Any], login: tuple[str, str]
) -> None:
    small = dict(default_seed, issues=[], links=[], comments=[], worklogs=[])
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(small))

    with SandboxServer(load_seed(str(path))) as server:
        client = jira.JIRA(server=server.url, basic_auth=login, max_retries=0)
        assert list(client.enhanced_search_issues("project = ACME", maxResults=0)) == []


def test_a_broken_seed_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"site": {}}')

    with pytest.raises(SeedError, match="broken.json: missing key"):
        load_seed(str(path))
