"""Round trips through the real jira library: what scopewatch's Jira client will do."""

from __future__ import annotations

from datetime import UTC, datetime

import jira
import pytest
import requests

from service.sandbox import SandboxServer

STORY_POINTS = "customfield_10016"
FLAGGED = "customfield_10021"
ALICE = "5f8a1c2b3d4e5f6a7b8c9d01"


def test_the_library_sees_a_cloud_site(client: jira.JIRA) -> None:
    assert client.deploymentType == "Cloud"
    assert client.server_info()["versionNumbers"][0] >= 1000
    assert client.myself()["accountId"]  # whoever the token belongs to


def test_seeded_issue_reads_like_jira(client: jira.JIRA) -> None:
    issue = client.issue("ACME-16")

    assert issue.fields.summary == "Payment provider integration"
    assert issue.fields.status.name == "In Progress"
    assert issue.fields.status.statusCategory.key == "indeterminate"
    assert issue.fields.assignee.accountId == ALICE
    assert issue.fields.timetracking.originalEstimate == "4d"
    assert issue.fields.timeoriginalestimate == 4 * 8 * 3600
    assert getattr(issue.fields, STORY_POINTS) == 8
    assert [(o.value, o.id) for o in getattr(issue.fields, FLAGGED)] == [("Impediment", "10019")]
    assert [c.name for c in issue.fields.components] == ["Backend"]
    assert issue.fields.fixVersions[0].releaseDate == "2027-01-29"
    assert issue.fields.created == "2026-08-29T14:52:00.000+0000"


def test_create_edit_and_read_back(client: jira.JIRA) -> None:
    issue = client.create_issue(
        project="ACME",
        summary="Export to PDF",
        issuetype={"name": "Story"},
        components=[{"name": "Backend"}],
        labels=["client-request"],
    )
    assert issue.key.startswith("ACME-")
    assert issue.fields.status.name == "To Do"

    issue.update(
        fields={
            STORY_POINTS: 5,
            "assignee": {"accountId": ALICE},
            FLAGGED: [{"value": "Impediment"}],
        },
        update={
            "labels": [{"add": "scope-change"}, {"remove": "client-request"}],
            "timetracking": [{"edit": {"originalEstimate": "1d 4h"}}],
        },
    )

    again = client.issue(issue.key)
    assert again.fields.labels == ["scope-change"]
    assert getattr(again.fields, STORY_POINTS) == 5
    assert again.fields.assignee.displayName == "Alice Dev"
    assert again.fields.timetracking.originalEstimate == "1d 4h"
    assert again.fields.timeoriginalestimate == 12 * 3600
    assert getattr(again.fields, FLAGGED)[0].value == "Impediment"


def test_edit_records_a_changelog(client: jira.JIRA) -> None:
    client.issue("ACME-9").update(
        fields={STORY_POINTS: 5}, update={"labels": [{"set": ["a", "b"]}]}
    )

    histories = client.issue("ACME-9", expand="changelog").changelog.histories
    last = histories[-1]
    items = {i.field: i for i in last.items}
    assert items["Story point estimate"].fieldId == STORY_POINTS
    assert (items["Story point estimate"].fromString, items["Story point estimate"].toString) == (
        "3",
        "5",
    )
    assert items["labels"].toString == "a b"


def test_unknown_field_is_a_400_naming_the_field(client: jira.JIRA) -> None:
    with pytest.raises(jira.JIRAError) as caught:
        client.issue("ACME-3").update(fields={"customfield_99999": 1})
    assert caught.value.status_code == 400
    assert "customfield_99999" in caught.value.text


def test_bad_story_points_are_refused_and_nothing_changes(client: jira.JIRA) -> None:
    with pytest.raises(jira.JIRAError) as caught:
        client.issue("ACME-3").update(fields={STORY_POINTS: "lots", "summary": "Renamed"})
    assert caught.value.status_code == 400
    assert client.issue("ACME-3").fields.summary == "Sign-up and login"


def test_unknown_issue_is_a_404(client: jira.JIRA) -> None:
    with pytest.raises(jira.JIRAError) as caught:
        client.issue("ACME-999")
    assert caught.value.status_code == 404
    assert "does not exist" in caught.value.text


def test_transition_by_name_moves_status_and_resolves(client: jira.JIRA) -> None:
    names = {t["name"] for t in client.transitions("ACME-9")}
    assert names == {"In Progress", "In Review", "Blocked", "Waiting for client", "Done"}

    client.transition_issue("ACME-9", "Done")

    issue = client.issue("ACME-9")
    assert issue.fields.status.name == "Done"
    assert issue.fields.resolution.name == "Done"
    assert issue.fields.resolutiondate is not None


def test_comment_round_trip(client: jira.JIRA) -> None:
    made = client.add_comment("ACME-3", "Impact: 12.0 h, EUR 1,020.00")

    assert made.body == "Impact: 12.0 h, EUR 1,020.00"
    assert [c.body for c in client.comments("ACME-3")] == ["Impact: 12.0 h, EUR 1,020.00"]


def test_v3_comment_takes_and_gives_adf(sandbox: SandboxServer, http: requests.Session) -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Rich hello"}]}],
    }
    made = http.post(f"{sandbox.url}/rest/api/3/issue/ACME-3/comment", json={"body": adf})
    assert made.status_code == 201
    assert made.json()["body"] == adf

    listed = http.get(f"{sandbox.url}/rest/api/2/issue/ACME-3/comment").json()
    assert listed["total"] == 1 and listed["comments"][0]["body"] == "Rich hello"


RICH = {
    "type": "doc",
    "version": 1,
    "content": [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Asked by "},
                {"type": "mention", "attrs": {"id": ALICE, "text": "@Alice Dev"}},
                {"type": "hardBreak"},
                {"type": "emoji", "attrs": {"shortName": ":tada:", "text": "\U0001f389"}},
            ],
        }
    ],
}


def test_v3_gives_back_the_adf_it_was_given(sandbox: SandboxServer, http: requests.Session) -> None:
    # Jira Cloud keeps a v3 comment's document: mentions, emoji and breaks read back as sent.
    rest = f"{sandbox.url}/rest/api/3/issue/ACME-3/comment"
    made = http.post(rest, json={"body": RICH})
    assert made.status_code == 201 and made.json()["body"] == RICH
    comment_id = made.json()["id"]

    assert http.get(f"{rest}/{comment_id}").json()["body"] == RICH
    assert http.get(rest).json()["comments"][-1]["body"] == RICH
    v2 = http.get(f"{sandbox.url}/rest/api/2/issue/ACME-3/comment/{comment_id}").json()
    assert v2["body"] == "Asked by @Alice Dev\n\U0001f389"

    # Edited as text through v2, the comment has no document left: v3 renders the new text.
    http.put(
        f"{sandbox.url}/rest/api/2/issue/ACME-3/comment/{comment_id}", json={"body": "Plain now"}
    ).raise_for_status()
    assert http.get(f"{rest}/{comment_id}").json()["body"] == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Plain now"}]}],
    }


def test_worklog_round_trip_updates_time_spent(client: jira.JIRA) -> None:
    before = client.issue("ACME-9").fields.timespent or 0
    started = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)

    worklog = client.add_worklog(
        "ACME-9", timeSpentSeconds="5400", started=started, comment="pairing"
    )

    assert worklog.timeSpent == "1h 30m"
    assert worklog.started == "2026-11-17T09:00:00.000+0000"
    assert client.issue("ACME-9").fields.timespent == before + 5400
    assert client.worklogs("ACME-9")[-1].id == worklog.id


def test_link_round_trip_shows_on_both_issues(client: jira.JIRA) -> None:
    # Jira's POST names the source "outwardIssue": here ACME-21 blocks ACME-9.
    response = client.create_issue_link("Blocks", inwardIssue="ACME-9", outwardIssue="ACME-21")
    assert response.status_code == 201
    link_id = response.headers["Location"].rsplit("/", 1)[1]

    blocked = client.issue("ACME-9").fields.issuelinks
    assert [(lk.type.inward, lk.inwardIssue.key) for lk in blocked] == [
        ("is blocked by", "ACME-21")
    ]
    blocking = client.issue("ACME-21").fields.issuelinks
    assert [(lk.type.outward, lk.outwardIssue.key) for lk in blocking] == [("blocks", "ACME-9")]

    client.delete_issue_link(link_id)
    assert client.issue("ACME-9").fields.issuelinks == []


def test_issue_property_round_trip(client: jira.JIRA) -> None:
    first = client.add_issue_property("ACME-27", "scopewatch.impact", {"hours": 18, "cost": 1530.0})
    second = client.add_issue_property("ACME-27", "scopewatch.impact", {"hours": 20})

    assert (first.status_code, second.status_code) == (201, 200)
    assert client.issue_property("ACME-27", "scopewatch.impact").raw["value"] == {"hours": 20}
    assert [p.key for p in client.issue_properties("ACME-27")] == ["scopewatch.impact"]


def test_delete_issue_needs_delete_subtasks_when_it_has_some(client: jira.JIRA) -> None:
    with pytest.raises(jira.JIRAError) as caught:
        client.issue("ACME-11").delete()
    assert caught.value.status_code == 400

    client.issue("ACME-11").delete(deleteSubtasks=True)
    for key in ("ACME-11", "ACME-29"):
        with pytest.raises(jira.JIRAError):
            client.issue(key)


def test_moving_an_issue_rekeys_it_and_old_key_still_resolves(client: jira.JIRA) -> None:
    client.issue("ACME-31").update(fields={"project": {"key": "BETA"}})

    moved = client.issue("ACME-31")
    assert moved.key.startswith("BETA-")
    items = {
        i.field: i
        for i in client.issue(moved.key, expand="changelog").changelog.histories[-1].items
    }
    assert (items["project"].fromString, items["project"].toString) == ("Acme Portal", "Beta Shop")
    assert items["Key"].fromString == "ACME-31"


def test_clock_sets_created_of_new_issues(
    sandbox: SandboxServer, http: requests.Session, client: jira.JIRA
) -> None:
    http.post(f"{sandbox.url}/_sandbox/clock", json={"now": "2026-11-16T10:00:00Z"})
    http.post(f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": 90})

    issue = client.create_issue(project="ACME", summary="Late ask", issuetype={"name": "Task"})

    assert issue.fields.created == "2026-11-16T10:01:30.000+0000"
    assert client.server_info()["serverTime"] == "2026-11-16T10:01:30.000+0000"


def test_reset_brings_the_seed_back(
    sandbox: SandboxServer, http: requests.Session, client: jira.JIRA
) -> None:
    client.issue("ACME-3").update(fields={"summary": "Changed"})

    assert http.post(f"{sandbox.url}/_sandbox/reset").status_code == 200

    assert client.issue("ACME-3").fields.summary == "Sign-up and login"
