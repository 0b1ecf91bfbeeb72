"""results.md: a missed target is shown with what the profile says about it (issue #7)."""

from __future__ import annotations

from pathlib import Path

from bench.core import BenchResult, Figure
from bench.report import write


def test_a_missed_target_is_listed_with_its_explanation_and_a_met_one_is_not(
    tmp_path: Path,
) -> None:
    result = BenchResult("worker", "Worker", "a reference")
    why = "the scope engine reads per event; cache it per batch"
    result.add(Figure("SQLite events/s", 1500, "events/s", 8000, ">= 2000/s", False, if_missed=why))
    result.add(
        Figure("PostgreSQL events/s", 2500, "events/s", 7000, ">= 2000/s", True, if_missed="never")
    )
    result.add(Figure("SQLite processed", 100, "events", None, "0 failed", False))
    out = tmp_path / "results.md"
    write([result], {"cores": "2"}, out, "2026-11-23 18:00 UTC", smoke=False)
    text = out.read_text()
    assert "- SQLite events/s: the scope engine reads per event; cache it per batch" in text
    assert "never" not in text
    assert "- SQLite processed: no profile on record yet." in text
