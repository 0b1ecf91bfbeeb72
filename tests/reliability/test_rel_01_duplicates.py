"""Case 1: one Jira event delivered 50 times ends as one label, one comment and one property.

The sandbox creates an issue and sends its `jira:issue_created` webhook to a live intake; the
same event then arrives 49 more times, the way Jira retries and replays: under the same delivery
id, under new ids, re-serialised (other whitespace and key order, so another body hash), some
while the first copy waits in the inbox, some after its write-back is already in Jira. The whole
path runs for real: intake, worker, scope engine, outbox, the Jira client and the sandbox.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from service.intake.signature import sign
from tests.reliability.harness import Effects, JiraWorld
from tests.support import SECRET


def redeliver(url: str, body: bytes, delivery_id: str) -> int:
    session = requests.Session()
    session.trust_env = False
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Atlassian-Webhook-Identifier": delivery_id,
        "X-Atlassian-Webhook-Retry": "1",
        "X-Hub-Signature": sign(SECRET, body),
    }
    try:
        return session.post(url, data=body, headers=headers, timeout=30).status_code
    finally:
        session.close()


def reserialised(document: dict[str, Any], count: int) -> list[bytes]:
    """The same event in other byte forms: what a proxy or a re-sending Jira node may produce."""
    original = json.dumps(document, separators=(",", ":")).encode()
    forms = [
        json.dumps(document, indent=indent, sort_keys=sort).encode()
        for indent in (None, 0, 1, 2, 4)
        for sort in (False, True)
    ]
    distinct = [form for form in dict.fromkeys(forms) if form != original]
    assert len(distinct) >= count
    return distinct[:count]


def test_fifty_deliveries_of_one_event_make_one_label_comment_and_property(
    world: JiraWorld, figures: dict[str, Any]
) -> None:
    [key] = world.create_issues(1, summary="Export to PDF")
    [original] = world.table("inbox")
    assert original["event"] == "jira:issue_created"
    body, first_id = bytes(original["body"]), original["delivery_id"]
    variants = reserialised(json.loads(body), 9)

    # 30 copies while the first still waits in the inbox, all at once from eight connections.
    early = [(body, first_id)] * 12 + [(body, uuid.uuid4().hex) for _ in range(12)]
    early += [(variant, uuid.uuid4().hex) for variant in variants[:6]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        early_answers = list(pool.map(lambda d: redeliver(world.live.webhook_url, *d), early))
    client = world.client()
    world.settle(client)
    after_first = world.effects(key)

    # 19 more after the write-back is in Jira: very late retries and replays.
    late = [(body, first_id)] * 8 + [(body, uuid.uuid4().hex) for _ in range(8)]
    late += [(variant, uuid.uuid4().hex) for variant in variants[6:]]
    late_answers = [redeliver(world.live.webhook_url, *d) for d in late]
    world.settle(client)

    assert sorted(early_answers) == [200] * 24 + [202] * 6
    assert sorted(late_answers) == [200] * 16 + [202] * 3
    expected = Effects(
        scope_labels=1, marker_comments=1, comments=1, property_version=1, hours=8.0, cost=680.0
    )
    assert after_first == expected
    assert world.effects(key) == expected
    assert world.writes(key) == {"edit": 1, "comment": 1, "property": 1}
    created = [r for r in world.table("inbox") if r["event"] == "jira:issue_created"]
    assert len(created) == 10  # the original and the 9 re-serialised bodies
    assert sum(r["duplicates"] for r in created) == 40
    assert {r["status"] for r in world.table("inbox")} == {"done"}
    [change] = world.table("scope_changes")
    [job] = world.table("outbox")
    assert (change["key"], change["impact_version"], change["written_version"]) == (key, 1, 1)
    assert (job["status"], job["attempts"]) == ("done", 1)
    figures.update(
        deliveries=50,
        answered_200_duplicate=40,
        stored_as_new_bodies=9,
        labels=1,
        comments=1,
        properties=1,
        jira_writes=sum(world.writes(key).values()),
        outbox_jobs=1,
    )
