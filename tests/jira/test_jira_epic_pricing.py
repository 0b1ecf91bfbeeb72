"""An epic and its stories, over HTTP against the sandbox: the client never reads the same hours
twice. The epic comes first (priced at its own 40 h), its stories later; once a story carries its
price, the epic's one comment is edited to say so, and Jira, the API and the digest agree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from mappings.model import Mapping
from service.digest.load import digest_for
from service.jira.client import JiraClient
from service.mirror.events import EventContext, apply_snapshot
from service.outbox import queue as outbox
from service.scope.changes import list_changes
from service.scope.decisions import decide
from service.scope.writeback import KINDS
from service.store.engine import reader
from tests.jira.jira_site import JiraSite
from tests.support import NOW, go_live

PROPERTY = "scopewatch.impact"
WEEK = "2026-W48"  # the week of NOW, when the sandbox creates the issues


def mirror(engine: Engine, client: JiraClient, mapping: Mapping, key: str, seq: int) -> None:
    """The worker takes the issue as Jira has it now."""
    with engine.begin() as conn:
        apply_snapshot(EventContext(conn, mapping, NOW), client.get_issue(key), seq)


def ours(site: JiraSite, key: str) -> list[str]:
    return [c for c in site.comments(key) if "[scopewatch change" in c]


def comment_writes(site: JiraSite, key: str) -> list[str]:
    """The comment calls on `key` since the log was cleared: POST (new) or PUT (edit)."""
    issue_id = site.issue(key)["id"]
    return [
        r["method"]
        for r in site.log()
        if r["method"] in ("POST", "PUT")
        and "/comment" in r["path"]
        and (f"/issue/{key}/" in r["path"] or f"/issue/{issue_id}/" in r["path"])
    ]


def listed(engine: Engine) -> dict[str, dict[str, Any]]:
    with reader(engine) as conn:
        return {c["key"]: c for c in list_changes(conn, "ACME")}


def pending_in_digest(engine: Engine, mapping: Mapping) -> dict[str, Any]:
    with reader(engine) as conn:
        digest = digest_for(conn, mapping, "ACME", WEEK, as_of=NOW)
    return dict(digest["scope"]["pending"])


def epic_then_story(
    engine: Engine, site: JiraSite, client: JiraClient, mapping: Mapping
) -> tuple[str, str]:
    """The epic arrives and is marked at 40 h; then a story of 6 h is created under it."""
    site.http.post(f"{site.url}/_sandbox/clock", json={"now": NOW.isoformat()}).raise_for_status()
    go_live(engine, "ACME")
    epic = site.create_issue("ACME", "Single sign-on", "Epic")
    mirror(engine, client, mapping, epic, 1)
    assert outbox.run_due(engine, client, KINDS, now=NOW) == 1
    (first,) = ours(site, epic)
    assert "+40 h" in first  # no children yet: its own default hours
    site.clear_log()
    story = site.create_issue(
        "ACME",
        "SSO with Azure AD",
        "Story",
        parent={"key": epic},
        timetracking={"originalEstimate": "6h"},
    )
    mirror(engine, client, mapping, story, 2)
    return epic, story


def epic_marked_through_story(
    engine: Engine, site: JiraSite, client: JiraClient, mapping: Mapping
) -> tuple[str, str]:
    """`epic_then_story`, with both marks in Jira and the request log cleared after them."""
    epic, story = epic_then_story(engine, site, client, mapping)
    assert outbox.run_due(engine, client, KINDS, now=NOW) == 2
    site.clear_log()
    return epic, story


def test_an_epic_priced_through_its_story_is_edited_once_and_counted_once(
    engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    epic, story = epic_then_story(engine, site, jira_client, mapping)

    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 2  # the story's, the epic's

    (comment,) = ours(site, epic)
    assert f"priced through {story}" in comment
    assert "40" not in comment.split("[scopewatch")[0]
    assert "Pending your approval" not in comment  # the story is what the client decides
    assert comment_writes(site, epic) == ["PUT"]  # one edit of the one comment
    assert site.prop(epic, PROPERTY)["hours"] == 0.0
    assert site.issue(epic)["fields"]["customfield_10150"] == 0.0
    assert "+6 h" in ours(site, story)[0]

    changes = listed(engine)
    assert (changes[epic]["hours"], changes[epic]["cost"]) == (0.0, 0.0)
    assert (changes[story]["hours"], changes[story]["cost"]) == (6.0, 510.0)
    assert all(c["written_back"] for c in changes.values())
    # The digest counts what the API lists: the story's 6 h, once.
    pending = pending_in_digest(engine, mapping)
    assert (pending["count"], pending["hours"], pending["cost"]) == (2, 6.0, 510.0)


def test_a_rejected_story_gives_the_epic_its_own_price_back(
    engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    epic, story = epic_marked_through_story(engine, site, jira_client, mapping)

    with engine.begin() as conn:
        decide(conn, mapping, "ACME", story, "rejected", None, NOW, channel="cli", by="pat")
    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 2

    (comment,) = ours(site, epic)
    assert "+40 h" in comment and "priced through" not in comment
    assert comment_writes(site, epic) == ["PUT"]
    assert listed(engine)[epic]["hours"] == 40.0
    pending = pending_in_digest(engine, mapping)
    assert (pending["count"], pending["hours"], pending["cost"]) == (1, 40.0, 3400.0)


def test_a_story_under_an_epic_already_flagged_leaves_other_events_alone(
    engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    epic, story = epic_marked_through_story(engine, site, jira_client, mapping)

    mirror(engine, jira_client, mapping, story, 3)  # the same story again: nothing moved
    mirror(engine, jira_client, mapping, epic, 4)

    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 0
    assert comment_writes(site, epic) == []
    assert listed(engine)[epic]["hours"] == 0.0


def test_a_story_taken_out_of_the_epic_gives_it_its_own_price_back(
    engine: Engine, site: JiraSite, jira_client: JiraClient, mapping: Mapping
) -> None:
    epic, story = epic_marked_through_story(engine, site, jira_client, mapping)

    moved = site.http.put(f"{site.url}/rest/api/2/issue/{story}", json={"fields": {"parent": None}})
    moved.raise_for_status()
    mirror(engine, jira_client, mapping, story, 3)
    # One job, the epic's: the story's own price did not move.
    assert outbox.run_due(engine, jira_client, KINDS, now=NOW) == 1

    (comment,) = ours(site, epic)
    assert "+40 h" in comment and comment_writes(site, epic) == ["PUT"]
    pending = pending_in_digest(engine, mapping)
    assert (pending["hours"], pending["cost"]) == (46.0, 3910.0)
