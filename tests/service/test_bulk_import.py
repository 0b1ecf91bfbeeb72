"""`scopewatch inbox import`'s batches: the outcome of storing line by line, in a few statements."""

from __future__ import annotations

import json
import random

from sqlalchemy import delete, select

from service.intake import inbox
from service.intake.bulk_import import import_jsonl
from service.store import schema
from service.store.clock import frozen_clock
from tests.support import NOW

# (body, delivery id): the cases that tell batch dedupe from line-by-line dedupe apart.
EXISTING = [(b'{"webhookEvent": "e", "n": 0}', "W"), (b'{"webhookEvent": "e", "n": 9}', "Z")]
TRICKY = [
    (b'{"webhookEvent": "e", "n": 0}', "X"),  # repeats an existing row by body
    (b'{"webhookEvent": "e", "n": 2}', "X"),  # shares an id only with a refused line: stored
    (b'{"webhookEvent": "e", "n": 2}', "Y"),  # repeats the line before by body
    (b'{"webhookEvent": "e", "n": 3}', "Z"),  # repeats an existing row by id
    (b'{"webhookEvent": "e", "n": 4}', None),
    (b'{"webhookEvent": "e", "n": 4}', None),  # repeats the line before by body
    (b'{"webhookEvent": "e", "n": 5}', "Y"),  # shares an id only with a refused line: stored
    (b'{"webhookEvent": "e", "n": 6}', "X"),  # repeats a stored line by id
]


IDS = [None, "W", "X", "Y", "Z"]


def deliveries(pairs):
    return [(body, "e", delivery_id) for body, delivery_id in pairs]


def one_by_one(conn, pairs) -> int:
    outcomes = [
        inbox.store(conn, body=body, event=event, delivery_id=delivery_id, now=NOW)
        for body, event, delivery_id in deliveries(pairs)
    ]
    return outcomes.count("stored")


def batched(conn, pairs) -> int:
    return inbox.store_many(conn, deliveries(pairs), now=NOW, source="import")


def table(conn) -> list[tuple]:
    columns = (schema.inbox.c.body_sha256, schema.inbox.c.delivery_id, schema.inbox.c.duplicates)
    return sorted(conn.execute(select(*columns)).all(), key=str)


def both_ways(engine, pairs) -> tuple[tuple[int, list], tuple[int, list]]:
    """The stored count and the table after line by line, then after `store_many`."""
    results = []
    for store in (one_by_one, batched):
        with engine.begin() as conn:
            conn.execute(delete(schema.inbox))
            one_by_one(conn, EXISTING)
            stored = store(conn, pairs)
            results.append((stored, table(conn)))
    return results[0], results[1]


def test_store_many_matches_storing_line_by_line(engine):
    by_line, in_batches = both_ways(engine, TRICKY)
    assert in_batches == by_line
    assert by_line[0] == 3  # n=2, n=4 and n=5


def test_store_many_matches_line_by_line_on_random_repeats(engine):
    rng = random.Random(7)
    for _ in range(20):
        pairs = [
            (f'{{"webhookEvent": "e", "n": {rng.randrange(8)}}}'.encode(), rng.choice(IDS))
            for _ in range(30)
        ]
        by_line, in_batches = both_ways(engine, pairs)
        assert in_batches == by_line


def test_store_many_with_nothing_stores_nothing(engine):
    with engine.begin() as conn:
        assert inbox.store_many(conn, [], now=NOW, source="import") == 0


def test_import_counts_repeats_within_and_across_batches(engine, tmp_path):
    lines = [json.dumps({"webhookEvent": "jira:issue_updated", "n": n}) for n in (1, 2, 1, 3, 2, 1)]
    lines.insert(3, "{not json")
    path = tmp_path / "replay.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    summary = import_jsonl(engine, str(path), batch_size=2, now=frozen_clock(NOW))
    assert (summary.lines, summary.stored, summary.duplicates, summary.rejected) == (7, 3, 3, 1)
    assert summary.first_error.startswith("line 4: body is not valid JSON")
    with engine.connect() as conn:
        rows = conn.execute(select(schema.inbox.c.source, schema.inbox.c.duplicates)).all()
        received = conn.execute(select(schema.inbox.c.received_at).distinct()).scalars().all()
    assert sorted(rows) == [("import", 0), ("import", 1), ("import", 2)]
    assert received == [NOW]  # the runtime's clock, not the wall clock
