"""Webhooks as Jira Cloud sends them: signed, identified, in order, retried, in v2 shapes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import jira
import pytest

from service.sandbox import SandboxServer

SECRET = "s3cret-shared-with-scopewatch"


@pytest.fixture
def hooked(default_seed: dict[str, Any], receiver: Any) -> Iterator[SandboxServer]:
    with SandboxServer(
        default_seed,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        webhook_retry_delays=(0.05, 0.1, 0.2),
    ) as server:
        yield server


@pytest.fixture
def hooked_client(hooked: SandboxServer, login: tuple[str, str]) -> jira.JIRA:
    return jira.JIRA(server=hooked.url, basic_auth=login, max_retries=0)


def _expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_create_sends_a_signed_issue_created(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    issue = hooked_client.create_issue(
        project="ACME", summary="New ask", issuetype={"name": "Task"}
    )
    hooked.wait_for_webhooks()

    [delivery] = receiver.received
    assert delivery.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert delivery.headers["X-Hub-Signature"] == _expected_signature(delivery.body)
    body = delivery.json
    assert body["webhookEvent"] == "jira:issue_created"
    assert body["issue_event_type_name"] == "issue_created"
    assert body["issue"]["key"] == issue.key
    assert body["issue"]["fields"]["summary"] == "New ask"
    assert body["user"]["accountId"]
    assert isinstance(body["timestamp"], int)


def test_transition_sends_status_changelog_with_ids_and_names(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    hooked_client.transition_issue("ACME-9", "In Progress")
    hooked.wait_for_webhooks()

    body = receiver.received[-1].json
    assert body["webhookEvent"] == "jira:issue_updated"
    assert body["issue_event_type_name"] == "issue_generic"
    [status] = [i for i in body["changelog"]["items"] if i["field"] == "status"]
    assert status == {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": "10000",
        "fromString": "To Do",
        "to": "3",
        "toString": "In Progress",
    }


def test_edit_changelog_items_for_estimates_points_labels_flag(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    hooked_client.issue("ACME-3").update(
        fields={"customfield_10016": 8, "customfield_10021": [{"value": "Impediment"}]},
        update={
            "labels": [{"add": "scope-change"}],
            "timetracking": [{"edit": {"originalEstimate": "3d"}}],
        },
    )
    hooked.wait_for_webhooks()

    items = {i["field"]: i for i in receiver.received[-1].json["changelog"]["items"]}
    assert items["timeoriginalestimate"]["from"] == "57600"
    assert items["timeoriginalestimate"]["to"] == "86400"
    assert (
        items["Story point estimate"]["fieldtype"],
        items["Story point estimate"]["toString"],
    ) == ("custom", "8")
    assert items["labels"]["toString"] == "scope-change"
    assert (items["Flagged"]["fieldId"], items["Flagged"]["toString"]) == (
        "customfield_10021",
        "Impediment",
    )


def test_assignee_change_is_issue_assigned(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    hooked_client.issue("ACME-9").update(
        fields={"assignee": {"accountId": "5f8a1c2b3d4e5f6a7b8c9d02"}}
    )
    hooked.wait_for_webhooks()

    body = receiver.received[-1].json
    assert body["issue_event_type_name"] == "issue_assigned"
    [item] = body["changelog"]["items"]
    assert (item["from"], item["toString"]) == ("5f8a1c2b3d4e5f6a7b8c9d05", "Bob Backend")


def test_comment_and_worklog_events_have_cloud_shapes(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    hooked_client.add_comment("ACME-3", "hello")
    hooked_client.add_worklog("ACME-3", timeSpentSeconds="1800")
    hooked.wait_for_webhooks()

    by_event = {r.event: r.json for r in receiver.received}
    comment = by_event["comment_created"]
    assert "user" not in comment
    assert comment["comment"]["body"] == "hello"
    assert comment["issue"]["key"] == "ACME-3"
    worklog = by_event["worklog_created"]
    assert set(worklog) == {"timestamp", "webhookEvent", "worklog"}  # no issue, no user
    assert worklog["worklog"]["issueId"] == comment["issue"]["id"]
    assert worklog["worklog"]["timeSpentSeconds"] == 1800


def test_link_events_carry_numeric_ids(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    response = hooked_client.create_issue_link(
        "Blocks", inwardIssue="ACME-9", outwardIssue="ACME-21"
    )
    hooked_client.delete_issue_link(response.headers["Location"].rsplit("/", 1)[1])
    hooked.wait_for_webhooks()

    created, deleted = (r.json["issueLink"] for r in receiver.received)
    assert [r.event for r in receiver.received] == ["issuelink_created", "issuelink_deleted"]
    assert created == deleted
    assert created["sourceIssueId"] == int(hooked_client.issue("ACME-21").id)
    assert created["destinationIssueId"] == int(hooked_client.issue("ACME-9").id)
    assert created["issueLinkType"]["outwardName"] == "blocks"


def test_delete_sends_issue_deleted(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    hooked_client.issue("ACME-26").delete()
    hooked.wait_for_webhooks()

    body = receiver.received[-1].json
    assert (body["webhookEvent"], body["issue"]["key"]) == ("jira:issue_deleted", "ACME-26")


def test_deliveries_are_in_order_with_unique_ids(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    for n in range(5):
        hooked_client.issue("ACME-9").update(fields={"summary": f"Version {n}"})
    hooked.wait_for_webhooks()

    summaries = [r.json["issue"]["fields"]["summary"] for r in receiver.received]
    assert summaries == [f"Version {n}" for n in range(5)]
    ids = [r.headers["X-Atlassian-Webhook-Identifier"] for r in receiver.received]
    assert len(set(ids)) == 5


def test_a_503_is_retried_with_the_same_identifier_and_body(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    receiver.fail_next = 2
    hooked_client.add_comment("ACME-3", "retry me")
    hooked.wait_for_webhooks()

    first_event = [r for r in receiver.received if r.event == "jira:issue_updated"]
    assert len(first_event) == 3
    assert len({r.headers["X-Atlassian-Webhook-Identifier"] for r in first_event}) == 1
    assert len({r.body for r in first_event}) == 1
    assert [r.headers.get("X-Atlassian-Webhook-Retry") for r in first_event] == [None, "1", "2"]
    assert receiver.answered[:3] == [503, 503, 202]
    stats = hooked.sandbox.dispatcher.stats()
    assert (stats["pending"], stats["failed"]) == (0, 0)


def test_gives_up_after_the_last_delay(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any, http: Any
) -> None:
    receiver.fail_next = 100
    hooked_client.issue("ACME-9").update(fields={"summary": "Nobody listens"})
    hooked.wait_for_webhooks()

    assert len(receiver.received) == 4  # the first try and three retries
    assert http.get(f"{hooked.url}/_sandbox/webhooks").json() == {
        "pending": 0,
        "delivered": 0,
        "failed": 1,
    }


def test_a_4xx_is_not_retried(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    receiver.fail_next, receiver.fail_status = 1, 401
    hooked_client.issue("ACME-9").update(fields={"summary": "Bad secret"})
    hooked.wait_for_webhooks()

    assert receiver.answered == [401]


def test_timestamp_follows_the_sandbox_clock(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any, http: Any
) -> None:
    http.post(f"{hooked.url}/_sandbox/clock", json={"now": "2026-11-16T10:00:00Z"})
    hooked_client.issue("ACME-9").update(fields={"summary": "On the demo clock"})
    hooked.wait_for_webhooks()

    assert receiver.received[-1].json["timestamp"] == 1794823200000


def test_bulk_creation_sends_no_webhooks(hooked: SandboxServer, receiver: Any, http: Any) -> None:
    http.post(f"{hooked.url}/_sandbox/bulk", json={"project": "ACME", "count": 50})
    hooked.wait_for_webhooks()

    assert receiver.received == []


def test_comment_and_worklog_edits_and_deletions_are_announced(
    hooked: SandboxServer, hooked_client: jira.JIRA, receiver: Any
) -> None:
    comment = hooked_client.add_comment("ACME-3", "first draft")
    worklog = hooked_client.add_worklog("ACME-3", timeSpentSeconds="600")
    comment.update(body="second draft")
    comment.delete()
    worklog.delete()
    hooked.wait_for_webhooks()

    bodies = [r.json for r in receiver.received]
    simple = [b["webhookEvent"] for b in bodies if b["webhookEvent"] != "jira:issue_updated"]
    assert simple == [
        "comment_created",
        "worklog_created",
        "comment_updated",
        "comment_deleted",
        "worklog_deleted",
    ]
    updated = next(b for b in bodies if b["webhookEvent"] == "comment_updated")
    assert updated["comment"]["body"] == "second draft"
    deleted = next(b for b in bodies if b["webhookEvent"] == "worklog_deleted")
    assert deleted["worklog"]["id"] == worklog.id
