"""Case 3: Jira applies the comment, then the connection drops before the answer arrives.

The sandbox's `drop` fault applies the call and cuts the TCP connection. The client cannot know
whether the comment landed, must not blindly post it again, and the outbox's next attempt has to
find it by its marker: still exactly one comment, label and property.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from service.jira.client import JiraClient
from service.store.clock import system_clock
from tests.reliability.harness import Effects, JiraWorld


class DropTheCommentAnswer:
    """Arms the sandbox's drop fault just before the client posts a comment, once.

    The fault's path filter cannot tell the comment list (GET) from the new comment (POST); arming
    it at the POST is what makes the dropped call the one that creates the comment.
    """

    def __init__(self, world: JiraWorld, client: JiraClient) -> None:
        self.world, self.client, self.armed = world, client, False
        self.real_add_comment = client.add_comment
        client.add_comment = self.add_comment  # type: ignore[method-assign]

    def add_comment(self, key: str, text: str) -> dict[str, Any]:
        if not self.armed:
            self.armed = True
            self.world.fault(mode="drop", count=1, paths="/comment")
        return self.real_add_comment(key, text)


def test_a_comment_applied_then_dropped_on_the_wire_is_posted_once(
    world: JiraWorld, figures: dict[str, Any]
) -> None:
    [key] = world.create_issues(1, summary="Dark mode")
    client = world.client()
    DropTheCommentAnswer(world, client)
    world.settle(client)

    [job] = world.table("outbox")
    assert (job["status"], job["attempts"]) == ("pending", 1)  # Jira may or may not have it
    assert "ConnectionError" in job["last_error"]
    assert world.effects(key).comments == 1  # ...and it does: the drop came after the write
    dropped = [e for e in world.requests_log() if e["dropped"]]
    assert [(e["method"], e["path"].rsplit("/", 1)[-1], e["status"]) for e in dropped] == [
        ("POST", "comment", 201)
    ]

    # The job comes back after its backoff (15 s of outbox time, no real waiting).
    world.settle(client, now=system_clock() + timedelta(seconds=16))
    assert world.effects(key) == Effects(
        scope_labels=1, marker_comments=1, comments=1, property_version=1, hours=8.0, cost=680.0
    )
    assert world.writes(key) == {"edit": 2, "comment": 1, "property": 1}
    [job] = world.table("outbox")
    assert (job["status"], job["attempts"]) == ("done", 2)
    figures.update(comment_posts=1, dropped_answers=1, comments=1, job_attempts=2)
