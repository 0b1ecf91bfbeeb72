"""The cockpit's pages reuse a built digest until something it reads changes.

Builds are counted by the cache's own stats; what a PM would notice is checked on the pages:
reloading is cheap, and a new event or a decision shows on the next load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from service.mirror import worker
from service.web.digest_cache import EXTENSION, CacheStats, DigestCache
from tests.support import JiraSender, fixture_body
from tests.web.cockpit_support import csrf_of, logged_in, mirrored_app

PENDING = re.compile(r"Pending decisions</dt>\s*<dd><a [^>]*>(\d+)</a>")


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Any]:
    with mirrored_app(sqlite_url) as app:
        yield app


@pytest.fixture
def client(app: Any) -> Any:
    return logged_in(app)


def stats(app: Any) -> CacheStats:
    cache: DigestCache = app.extensions[EXTENSION]
    return cache.stats


def acme_pending(client: Any) -> int:
    page = client.get("/").get_data(as_text=True)
    counts = PENDING.findall(page)
    assert counts, page[:500]
    return int(counts[0])  # ACME comes first


def test_reloading_the_pages_builds_each_digest_once(client: Any, app: Any) -> None:
    first = acme_pending(client)
    built = stats(app).builds
    assert built >= 1

    assert acme_pending(client) == first
    assert client.get("/projects/ACME").status_code == 200  # its charts, from the same digest

    assert stats(app).builds == built
    assert stats(app).hits >= 2


def test_an_applied_event_makes_the_next_load_build_again(client: Any, app: Any) -> None:
    before = acme_pending(client)
    built = stats(app).builds

    # ACME-101, a pending change, is deleted in Jira: the worker applies the event.
    assert (
        JiraSender(app.test_client()).post(fixture_body("cloud_issue_deleted")).status_code == 202
    )
    runtime = app.extensions["scopewatch"]
    assert worker.drain_inbox(runtime.engine, runtime.mapping).failed == 0

    assert acme_pending(client) == before - 1
    assert stats(app).builds > built


def test_a_decision_in_the_cockpit_is_not_served_from_before_it(client: Any, app: Any) -> None:
    acme_pending(client)
    built = stats(app).builds
    token = csrf_of(client, "/projects/ACME")
    decided = client.post(
        "/projects/ACME/changes/ACME-101/decision",
        data={"action": "approve", "note": "", "csrf_token": token},
    )
    assert decided.status_code == 302
    # The overview is of the last full week, which ended before today's decision, so its figures
    # stay; but no page is built from data older than the decision.
    acme_pending(client)
    assert stats(app).builds > built


def test_the_cache_keeps_only_its_newest_entries() -> None:
    from datetime import UTC, datetime

    from service.web.digest_cache import DigestKey

    cache = DigestCache(size=2)
    keys = [
        DigestKey("ACME", "2026-W47", datetime(2026, 11, 23, tzinfo=UTC), (n,)) for n in range(3)
    ]
    for n, key in enumerate(keys):
        cache.get(key, lambda n=n: {"n": n})
    assert cache.stats == CacheStats(hits=0, builds=3, size=2)
    assert cache.get(keys[2], lambda: {"n": -1}) == {"n": 2}  # kept
    assert cache.get(keys[0], lambda: {"n": -1}) == {"n": -1}  # the oldest went first
