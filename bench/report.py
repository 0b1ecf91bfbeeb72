"""The table on stdout and `bench/results.md`.

`bench/results.json` keeps every bench's last result, so that `--only NAME` replaces one section
and leaves the others as their own runs left them (each section says when it was measured).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.core import BenchResult, Figure

HEADER = """\
# scopewatch benchmarks

Written by `python -m bench` (`make bench`) from a real run; do not edit by hand.
Each figure stands beside a reference measured in the same run on the same machine, and the
**ratio** of the two: these machines are shared and noisy, so compare ratios between runs, not
raw numbers. `met` is blank where no target was set.
"""
COLUMNS = ["figure", "value", "reference", "ratio", "target", "met", "note"]


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if float(value).is_integer() or magnitude >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.1f}" if magnitude >= 10 else f"{value:.2f}"
    return f"{text} {unit}".strip()


def met(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "**NO**"


def row(figure: Figure) -> list[str]:
    ratio = figure.ratio
    return [
        figure.name,
        number(figure.value, figure.unit),
        number(figure.reference, figure.unit),
        "-" if ratio is None else f"{ratio:.2f}x",
        figure.target,
        met(figure.met),
        figure.note,
    ]


def markdown_table(rows: list[list[str]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
    return "\n".join(lines)


def text_table(results: list[BenchResult]) -> str:
    """A plain table for the terminal."""
    rows = [["bench", *COLUMNS[:-1]]]
    for result in results:
        if result.skipped:
            rows.append([result.name, f"skipped: {result.skipped}", "", "", "", "", ""])
        for figure in result.figures:
            rows.append([result.name, *row(figure)[:-1]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def section(data: dict[str, Any]) -> str:
    fields = {k: v for k, v in data.items() if k in BenchResult.__dataclass_fields__}
    result = BenchResult(**{**fields, "figures": [Figure(**f) for f in data["figures"]]})
    parts = [f"## {result.name}: {result.title}", ""]
    parts.append(
        f"Measured {data['measured_at']} in {result.seconds:.0f} s"
        f"{' (smoke: tiny sizes)' if data.get('smoke') else ''}. "
        f"Reference: {result.reference}."
    )
    parts.append("")
    if result.skipped:
        parts.append(f"Skipped: {result.skipped}.")
    else:
        parts.append(markdown_table([row(f) for f in result.figures], COLUMNS))
    missed = [f for f in result.figures if f.met is False]
    if missed:
        parts += ["", "**Missed, why, and what would fix it:**", ""]
        parts += [f"- {f.name}: {f.if_missed or 'no profile on record yet.'}" for f in missed]
    if result.notes:
        parts.append("")
        parts += [f"- {note}" for note in result.notes]
    return "\n".join(parts) + "\n"


def summary(sections: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, data in sections.items():
        judged = [f for f in data["figures"] if f["met"] is not None]
        missed = [f["name"] for f in judged if not f["met"]]
        state = "skipped" if data.get("skipped") else f"{len(judged) - len(missed)}/{len(judged)}"
        rows.append([name, state, ", ".join(missed) or "-"])
    return markdown_table(rows, ["bench", "targets met", "missed"])


def write(
    results: list[BenchResult], machine: dict[str, str], out: Path, measured_at: str, smoke: bool
) -> None:
    store = out.with_suffix(".json")
    previous: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {}
    sections: dict[str, dict[str, Any]] = previous.get("benches", {})
    for result in results:
        sections[result.name] = {**asdict(result), "measured_at": measured_at, "smoke": smoke}
    order = ["intake", "bulk_import", "worker", "digest", "baseline"]
    sections = {
        k: sections[k]
        for k in sorted(
            sections, key=lambda n: (n not in order, order.index(n) if n in order else 0)
        )
    }
    store.write_text(json.dumps({"machine": machine, "benches": sections}, indent=2) + "\n")
    facts = markdown_table([[k, v] for k, v in machine.items()], ["machine", "value"])
    body = [HEADER, facts, "", "## Summary", "", summary(sections), ""]
    body += [section(data) for data in sections.values()]
    out.write_text("\n".join(body))
