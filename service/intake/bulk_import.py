"""`scopewatch inbox import FILE.jsonl`: backfills and replays, with intake's checks and dedupe.

Lines are stored in batches of one transaction each, so a million-line file costs a thousand
commits rather than a million, and each batch goes to the driver at once (pipelined on
PostgreSQL) rather than a round trip per line; a bad line is counted and named, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from service.intake import inbox
from service.store.clock import Clock, system_clock


@dataclass
class ImportSummary:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    first_error: str | None = None


def import_jsonl(
    engine: Engine, path: str, *, batch_size: int = 1000, now: Clock = system_clock
) -> ImportSummary:
    """Stores the file's deliveries as received at `now()` (the runtime's clock)."""
    summary = ImportSummary()
    batch: list[tuple[bytes, str]] = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            summary.lines += 1
            try:
                batch.append((line, inbox.event_name(line)))
            except inbox.BadDelivery as bad:
                summary.rejected += 1
                summary.first_error = summary.first_error or f"line {number}: {bad}"
                continue
            if len(batch) >= batch_size:
                _store(engine, batch, summary, now())
                batch = []
    if batch:
        _store(engine, batch, summary, now())
    return summary


def _store(
    engine: Engine, batch: list[tuple[bytes, str]], summary: ImportSummary, now: datetime
) -> None:
    with engine.begin() as conn:
        stored = inbox.store_many(
            conn,
            [(body, event, None) for body, event in batch],
            now=now,
            source="import",
        )
    summary.stored += stored
    summary.duplicates += len(batch) - stored
