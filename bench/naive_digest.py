"""The digest reference: the obvious pandas way to get the money figures of one week.

`pandas.read_sql` of the whole worklog table joined to issues, then the aggregations the digest's
budget shows: spent (to the period's end), spent this week, and spent by week, by author and by
category, each worklog priced at its author's rate. Written the way a competent pandas user would
write it first: vectorised, each distinct component list parsed once. What it does not do is
leave the summing to the database, which is what `reports.frames` does.

It computes a subset of the digest (no scope, EVM, forecast, blockers), so it is a generous
reference: the real digest does strictly more work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text

from mappings import load_mapping
from mappings.model import Mapping
from reports.period import period_for

UNCATEGORISED = "Uncategorised"
QUERY = text(
    "SELECT w.started, w.author, w.seconds, CAST(i.components AS TEXT) AS components "
    "FROM worklogs w JOIN issues i ON i.id = w.issue_id "
    "WHERE i.project_key = :project AND w.deleted = :no AND i.deleted = :no"
)


def naive_digest(conn: Any, mapping: Mapping, project_key: str, week: str) -> dict[str, Any]:
    project = mapping.project(project_key)
    assert project is not None, project_key
    period = period_for(week, project.digest.tz)
    frame = pd.read_sql(QUERY, conn, params={"project": project_key, "no": False})
    frame["started"] = pd.to_datetime(frame["started"], utc=True)
    frame = frame[frame["started"] < pd.Timestamp(period.end_utc)]
    rates = {a: mapping.rate_for(a, project) for a in frame["author"].dropna().unique()}
    rate = frame["author"].map(rates).astype("float64").fillna(project.default_rate)
    frame["cost"] = frame["seconds"] / 3600 * rate
    names = [name for name, _ in project.categories]
    first = {t: _category(t, names) for t in frame["components"].unique()}
    frame["category"] = frame["components"].map(first)
    local = frame["started"].dt.tz_convert(project.digest.tz)
    frame["week"] = local.dt.strftime("%G-W%V")
    this_week = frame["started"] >= pd.Timestamp(period.start_utc)
    return {
        "spent": float(frame["cost"].sum()),
        "spent_this_week": float(frame.loc[this_week, "cost"].sum()),
        "by_week": frame.groupby("week")["cost"].sum().round(2).to_dict(),
        "by_author": frame.groupby("author")["cost"].sum().round(2).to_dict(),
        "by_category": frame.groupby("category")["cost"].sum().round(2).to_dict(),
    }


def _category(components: Any, names: list[str]) -> str:
    parsed = json.loads(components) if isinstance(components, str) else components or []
    return next((c for c in parsed if c in names), UNCATEGORISED)


def prepare(args: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """For `bench.child`: connect first, then the job (which reports the figures it found)."""
    engine = create_engine(args["url"])
    mapping = load_mapping(args["mapping"])
    with engine.connect():
        pass

    def job() -> dict[str, Any]:
        with engine.connect() as conn:
            figures = naive_digest(conn, mapping, args["project"], args["week"])
        return {
            "spent": figures["spent"],
            "by_category": figures["by_category"],
            "weeks": len(figures["by_week"]),
        }

    return job


def main(argv: list[str]) -> None:
    """`python -m bench.naive_digest URL MAPPING PROJECT WEEK`: the whole naive script, as a
    process, for the side-by-side with `scopewatch digest build --format json`."""
    url, mapping_path, project, week = argv
    with create_engine(url).connect() as conn:
        figures = naive_digest(conn, load_mapping(mapping_path), project, week)
    print(json.dumps({"spent": figures["spent"], "by_category": figures["by_category"]}))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
