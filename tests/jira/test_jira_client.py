"""The Jira client against the sandbox: every method round-trips, and failures meet one policy."""

from __future__ import annotations

import math
import socket
from dataclasses import replace

import pytest

from mappings.model import Mapping
from service.jira.client import (
    COMMENT_PAGE,
    JiraClient,
    JiraRejected,
    JiraRetryLater,
    missing_custom_fields,
)
from service.store.clock import frozen_clock
from tests.jira.jira_site import LOGIN, JiraSite, make_client
from tests.support import NOW

HOURS = "customfield_10150"  # the sandbox mapping's impact hours field


def _calls(site: JiraSite, method: str | None = None) -> list[dict]:
    return [r for r in site.log() if method is None or r["method"] == method]


# --- round trips ---------------------------------------------------------------------------------


def test_server_info_names_a_cloud_site(jira_client: JiraClient) -> None:
    info = jira_client.server_info()

    assert info["deploymentType"] == "Cloud"
    assert jira_client.is_cloud


def test_missing_custom_fields_names_only_unknown_ids(
    jira_client: JiraClient, mapping: Mapping
) -> None:
    wrong = replace(mapping, jira=replace(mapping.jira, impact_cost_field="customfield_99999"))

    assert missing_custom_fields(jira_client, mapping) == []
    assert missing_custom_fields(jira_client, wrong) == ["customfield_99999"]
    assert {"customfield_10016", "summary"} <= jira_client.field_ids()


def test_search_pages_through_every_issue_of_the_project(
    jira_client: JiraClient, site: JiraSite
) -> None:
    total = jira_client.count('project = "ACME"')
    site.clear_log()

    found = list(jira_client.search('project = "ACME" ORDER BY key ASC', ["summary"], page_size=7))

    keys = [issue["key"] for issue in found]
    assert len(keys) == len(set(keys)) == total > 7
    assert all(isinstance(issue["fields"]["summary"], str) for issue in found)
    log = _calls(site)
    searches = [r for r in log if r["path"] != "/rest/api/2/field"]
    assert {r["path"] for r in searches} == {"/rest/api/2/search/jql"}  # Cloud: enhanced search
    assert len(searches) == math.ceil(total / 7)
    # Before its first search the jira library reads the field list (to translate JQL names).
    assert [r["path"] for r in log if r not in searches] == ["/rest/api/2/field"]


def test_get_issue_returns_the_v2_shape(jira_client: JiraClient) -> None:
    issue = jira_client.get_issue("ACME-1", ["summary", "description"])

    assert issue["key"] == "ACME-1"
    assert isinstance(issue["fields"]["description"], str)  # v3 would give an ADF document


def test_edit_issue_changes_labels_and_fields_in_one_call(
    jira_client: JiraClient, site: JiraSite
) -> None:
    site.issue("ACME-4")  # nothing up the sleeve: the issue exists before
    site.clear_log()

    jira_client.edit_issue(
        "ACME-4", labels_add=["scope-change"], fields={"customfield_10150": 12.5}
    )
    jira_client.edit_issue("ACME-4", labels_add=["scope-change"])  # again: nothing changes

    fields = site.issue("ACME-4")["fields"]
    assert fields["labels"].count("scope-change") == 1
    assert fields["customfield_10150"] == 12.5
    assert [r["method"] for r in _calls(site) if "/issue/ACME-4" in r["path"]][:2] == [
        "PUT",
        "PUT",
    ]  # no GET after each PUT, unlike the library's issue.update()

    jira_client.edit_issue("ACME-4", labels_remove=["scope-change"])
    assert "scope-change" not in site.issue("ACME-4")["fields"]["labels"]


def test_comments_round_trip_as_plain_text(jira_client: JiraClient, site: JiraSite) -> None:
    text = "Outside the baseline: 6.0 h, EUR 510.00.\n\n[scopewatch change 12]"

    made = jira_client.add_comment("ACME-5", text)
    listed = jira_client.comments("ACME-5")
    changed = jira_client.update_comment(
        "ACME-5", made["id"], "Approved.\n\n[scopewatch change 12]"
    )

    ours = {r["path"] for r in _calls(site)}
    assert made["body"] == text
    assert listed[-1]["id"] == made["id"] and listed[-1]["body"] == text
    assert changed["body"].startswith("Approved.")
    # What people see in Jira: one comment, edited, the marker literal at its end.
    assert site.comments("ACME-5")[-1].startswith("Approved.")
    assert site.comments("ACME-5")[-1].endswith("[scopewatch change 12]")
    # Cloud: ADF on REST v3, where the [marker] is literal text rather than wiki link syntax.
    assert ours == {
        "/rest/api/3/issue/ACME-5/comment",
        f"/rest/api/3/issue/ACME-5/comment/{made['id']}",
    }


def test_issue_properties_round_trip(jira_client: JiraClient) -> None:
    assert jira_client.get_property("ACME-6", "scopewatch.impact") is None

    jira_client.set_property("ACME-6", "scopewatch.impact", {"hours": 6.0, "job": "w:1:1"})

    assert jira_client.get_property("ACME-6", "scopewatch.impact") == {"hours": 6.0, "job": "w:1:1"}


def test_worklogs_lists_every_worklog(jira_client: JiraClient, site: JiraSite) -> None:
    for hours in (1, 2, 3):
        body = {"timeSpentSeconds": hours * 3600, "started": "2026-11-02T09:00:00.000+0000"}
        site.http.post(f"{site.url}/rest/api/2/issue/ACME-7/worklog", json=body).raise_for_status()

    seconds = [w["timeSpentSeconds"] for w in jira_client.worklogs("ACME-7")]

    assert seconds[-3:] == [3600, 7200, 10800]


def test_calls_counts_every_http_request(mapping: Mapping, site: JiraSite) -> None:
    client = make_client(site, mapping)
    assert client.calls == 0  # building a client costs no request

    client.get_issue("ACME-1")
    client.get_issue("ACME-2")

    assert client.calls == 3 == len(_calls(site))  # serverInfo on first use, then two issues


def test_each_write_back_call_is_one_request(jira_client: JiraClient, site: JiraSite) -> None:
    # The outbox reckons its lease on five requests a write-back: none may hide a second one.
    key, prop = "ACME-9", "scopewatch.impact"
    steps = [
        lambda: jira_client.get_property(key, prop),
        lambda: jira_client.edit_issue(key, labels_add=["scope-change"], fields={HOURS: 6.0}),
        lambda: jira_client.comments(key),
        lambda: jira_client.add_comment(key, "Impact: 6.0 h.\n\n[scopewatch change 1]"),
        lambda: jira_client.set_property(key, prop, {"job": "writeback:1:1"}),
    ]
    for step in steps:
        before, logged = jira_client.calls, len(_calls(site))
        step()
        assert (jira_client.calls - before, len(_calls(site)) - logged) == (1, 1)

    made = jira_client.comments(key)[-1]
    site.clear_log()
    jira_client.update_comment(key, made["id"], "Approved.\n\n[scopewatch change 1]")
    assert [r["method"] for r in _calls(site)] == ["PUT"]  # no GET before or after it


@pytest.mark.parametrize("failing", ["/field", "/search/jql"])
def test_calls_count_the_field_list_the_library_reads_before_its_first_search(
    mapping: Mapping, site: JiraSite, failing: str
) -> None:
    client = make_client(site, mapping)
    client.server_info()
    site.clear_log()
    site.fault(mode="503", count=1, paths=failing)
    before = client.calls

    assert list(client.search('project = "ACME"', ["summary"]))
    list(client.search('project = "BETA"', ["summary"]))  # the library keeps the list

    log = _calls(site)
    assert [(r["path"].rsplit("/", 1)[-1], r["status"]) for r in log][:3] == (
        [("field", 503), ("field", 200), ("jql", 200)]
        if failing == "/field"
        else [("field", 200), ("jql", 503), ("jql", 200)]
    )
    assert [r["path"] for r in log[3:]] == ["/rest/api/2/search/jql"]
    assert client.calls - before == len(log) == 4


def test_comments_are_read_a_page_at_a_time(jira_client: JiraClient, site: JiraSite) -> None:
    notes = [f"note {n}" for n in range(COMMENT_PAGE + 20)]
    for note in notes:
        answer = site.http.post(f"{site.url}/rest/api/2/issue/ACME-6/comment", json={"body": note})
        answer.raise_for_status()
    site.clear_log()

    bodies = [c["body"] for c in jira_client.comments("ACME-6")]

    assert bodies[-len(notes) :] == notes
    assert len(_calls(site)) == len(bodies) // COMMENT_PAGE + 1  # the last page is a short one


# --- the retry policy ----------------------------------------------------------------------------


def test_429_waits_out_retry_after_then_succeeds(jira_client: JiraClient, site: JiraSite) -> None:
    site.fault(mode="429", count=1, retry_after=2)

    issue = jira_client.get_issue("ACME-1")

    assert issue["key"] == "ACME-1"
    limited, retried = _calls(site)
    assert (limited["status"], retried["status"]) == (429, 200)
    assert retried["time"] - limited["time"] >= 2.0  # not one request before Retry-After ran out


def test_429_longer_than_max_wait_pauses_every_call(mapping: Mapping, site: JiraSite) -> None:
    # The moments the caller sees come from the client's clock; the waits are real seconds.
    client = make_client(site, mapping, max_wait=1.0, clock=frozen_clock(NOW))
    client.server_info()
    site.clear_log()
    site.fault(mode="429", count=1, retry_after=30)

    with pytest.raises(JiraRetryLater) as first:
        client.get_issue("ACME-1")
    with pytest.raises(JiraRetryLater) as second:
        client.get_issue("ACME-2")  # Jira is not asked again while the pause lasts

    assert len(_calls(site)) == 1
    assert first.value.pause_until is not None
    assert (first.value.pause_until - NOW).total_seconds() > 25
    assert first.value.retry_at >= first.value.pause_until
    assert second.value.pause_until == first.value.pause_until


def test_503_storm_longer_than_max_wait_gives_up_with_retry_later(
    mapping: Mapping, site: JiraSite
) -> None:
    client = make_client(site, mapping, max_wait=1.0, clock=frozen_clock(NOW))
    client.server_info()
    site.clear_log()
    site.fault(mode="503", count=1000)

    with pytest.raises(JiraRetryLater) as raised:
        client.get_issue("ACME-1")

    assert raised.value.retry_at > NOW
    assert raised.value.raised_at == NOW
    assert raised.value.pause_until is None  # a 503 is no rate limit
    assert "503" in raised.value.reason
    assert len(_calls(site)) > 2


def test_500_is_retried_at_most_twice(jira_client: JiraClient, site: JiraSite) -> None:
    site.fault(mode="500", count=10)

    with pytest.raises(JiraRetryLater):
        jira_client.get_issue("ACME-1")

    assert [r["status"] for r in _calls(site)] == [500, 500, 500]


def test_400_is_refused_at_once_with_jiras_message(jira_client: JiraClient, site: JiraSite) -> None:
    with pytest.raises(JiraRejected) as raised:
        list(jira_client.search("nosuchfield = 1", ["summary"]))

    assert raised.value.status == 400
    assert "nosuchfield" in raised.value.message
    assert [r["path"] for r in _calls(site, "POST")] == ["/rest/api/2/search/jql"]


def test_404_is_refused_at_once(jira_client: JiraClient, site: JiraSite) -> None:
    with pytest.raises(JiraRejected) as raised:
        jira_client.get_issue("ACME-99999")

    assert raised.value.status == 404
    assert "does not exist" in raised.value.message
    assert len(_calls(site)) == 1


def test_a_dropped_read_is_asked_again(jira_client: JiraClient, site: JiraSite) -> None:
    site.fault(mode="drop", count=1)

    assert jira_client.get_issue("ACME-1")["key"] == "ACME-1"
    assert [r["dropped"] for r in _calls(site)] == [True, False]


def test_a_dropped_post_is_not_sent_again(jira_client: JiraClient, site: JiraSite) -> None:
    before = len(site.comments("ACME-8"))
    site.clear_log()
    site.fault(mode="drop", count=1)

    with pytest.raises(JiraRetryLater):
        jira_client.add_comment("ACME-8", "Only once, please.")

    # Jira did post it; sending it again would have made two. The caller looks before retrying.
    assert len(_calls(site, "POST")) == 1
    assert len(site.comments("ACME-8")) == before + 1


def test_wrong_credentials_are_refused_without_retry(mapping: Mapping) -> None:
    from service.sandbox import SandboxServer

    with SandboxServer(strict=True) as strict:
        client = JiraClient(strict.url, LOGIN[0], "wrong-token", mapping, max_wait=1.0)
        with pytest.raises(JiraRejected) as raised:
            client.server_info()

    assert raised.value.status == 401
    assert "wrong-token" not in str(raised.value)


def test_an_unreachable_site_is_retry_later(mapping: Mapping) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = JiraClient(
        f"http://127.0.0.1:{port}", *LOGIN, mapping, max_wait=0.5, backoff=0.05, backoff_max=0.1
    )

    with pytest.raises(JiraRetryLater) as raised:
        client.server_info()

    assert "ConnectionError" in raised.value.reason
    assert client.calls > 1
