"""Worklog seconds per (project, local day, author, components), kept as the mirror changes.

Every figure the digest draws from worklogs needs only the day a worklog falls in (in the
project's digest zone), its author and its issue's components. Summing a million worklogs for
each digest took seconds; this roll-up holds a few thousand rows for the same answer.

How it stays right:
- Each mirror change that moves seconds between roll-up rows (a worklog added, edited or deleted;
  an issue created over worklogs that came first, moved, re-componented or deleted) adds the
  difference to `worklog_days` in the same transaction as the change, so a rolled-back event
  takes its difference with it. The worker sums the differences of a whole batch in memory
  (`Pending`) and writes them at its end, in key order, so that two workers never deadlock on
  them and wait for each other only while they commit.
- The difference needs the state before the change. SQLite has one writer at a time. On
  PostgreSQL the worker takes an advisory lock per issue before it reads, and leaves the events
  of an issue another worker holds for a later batch (`mirror.lock_free_issues`): two workers
  never apply changes to one issue's worklogs at the same time.
- `rebuild` computes a project's rows from the worklogs themselves: when the worker starts and
  the project has none, or its zone changed. The digest uses the roll-up only when it was built
  in the zone the digest asks for, and otherwise sums the worklogs itself.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Text,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from mappings.model import Mapping as ProjectMapping
from service.store import schema
from service.store.clock import Clock, system_clock
from service.store.engine import reader, upsert

log = logging.getLogger(__name__)

# Where one worklog's seconds count: project key, day (the UTC instant of the local midnight that
# starts it), author ("" for none), components (JSON text).
Slot = tuple[str, datetime, str, str]


@dataclass(frozen=True)
class IssueFacts:
    """What of an issue decides where its worklogs count."""

    project_key: str
    components: str  # JSON text
    deleted: bool


@lru_cache(maxsize=8)
def zones(mapping: ProjectMapping) -> dict[str, ZoneInfo]:
    """Each mapped project's digest zone; worklogs of other projects are not rolled up."""
    return {p.key: ZoneInfo(p.digest.tz) for p in mapping.projects}


def components_key(components: Any) -> str:
    """One text per component list (JSON), however the database spelled it."""
    if isinstance(components, str):
        components = json.loads(components) if components else []
    return json.dumps([str(c) for c in components or []])


def issue_facts(row: Mapping[str, Any] | None) -> IssueFacts | None:
    if row is None:
        return None
    return IssueFacts(
        project_key=row["project_key"],
        components=components_key(row["components"]),
        deleted=bool(row["deleted"]),
    )


def local_midnight(at: datetime, tz: ZoneInfo) -> datetime:
    """The start (as UTC) of the local day holding `at`; the digest's weeks start at these."""
    return midnight_of(at.astimezone(tz).date(), tz)


def midnight_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def slot(
    started: datetime, author: str | None, issue: IssueFacts | None, tzs: Mapping[str, ZoneInfo]
) -> Slot | None:
    """Where a live worklog on `issue` counts; None where it counts nowhere."""
    if issue is None or issue.deleted or issue.project_key not in tzs:
        return None
    day = local_midnight(started, tzs[issue.project_key])
    return (issue.project_key, day, author or "", issue.components)


# --- recording changes -------------------------------------------------------------------------


@dataclass
class Pending:
    """A batch's roll-up differences, summed in memory and written once when the batch ends.

    `facts` holds each issue's facts as this transaction holds them, read once per batch.
    """

    facts: dict[str, IssueFacts | None]
    changes: Counter[Slot]

    @classmethod
    def open(cls, conn: Connection, issue_ids: Iterable[str | None]) -> Pending:
        return cls(facts=_read_facts(conn, {i for i in issue_ids if i}), changes=Counter())

    def copy(self) -> Pending:
        return Pending(dict(self.facts), Counter(self.changes))

    def write(self, conn: Connection) -> None:
        _write(conn, self.changes)
        self.changes = Counter()


def facts_of(conn: Connection, issue_id: str, pending: Pending | None) -> IssueFacts | None:
    if pending is not None and issue_id in pending.facts:
        return pending.facts[issue_id]
    found = _read_facts(conn, {issue_id}).get(issue_id)
    if pending is not None:
        pending.facts[issue_id] = found
    return found


def _read_facts(conn: Connection, issue_ids: set[str]) -> dict[str, IssueFacts | None]:
    if not issue_ids:
        return {}
    i = schema.issues.c
    rows = conn.execute(
        select(i.id, i.project_key, cast(i.components, Text), i.deleted).where(
            i.id.in_(sorted(issue_ids))
        )
    ).all()
    facts: dict[str, IssueFacts | None] = dict.fromkeys(issue_ids)
    facts.update({r[0]: IssueFacts(r[1], components_key(r[2]), bool(r[3])) for r in rows})
    return facts


def _add(
    conn: Connection,
    issue_id: str,
    after: IssueFacts | None,
    changes: Counter[Slot],
    pending: Pending | None,
) -> None:
    if pending is None:  # outside a worker batch (reconcile, tests): straight to the table
        _write(conn, changes)
        return
    pending.facts[issue_id] = after
    pending.changes.update(changes)


def _write(conn: Connection, changes: Counter[Slot]) -> None:
    rows = [
        {"project_key": p, "day": d, "author": a, "components": c, "seconds": s}
        for (p, d, a, c), s in sorted(changes.items())
        if s
    ]
    if rows:
        conn.execute(_add_seconds(conn.dialect.name), rows)


@lru_cache(maxsize=4)
def _add_seconds(dialect_name: str) -> Any:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    table = schema.worklog_days
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={"seconds": table.c.seconds + stmt.excluded.seconds},
    )


def worklog_changed(
    conn: Connection,
    tzs: Mapping[str, ZoneInfo],
    issue_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    pending: Pending | None = None,
) -> None:
    """One worklog of `issue_id` went from `before` to `after` (None or deleted: nowhere)."""
    issue = facts_of(conn, issue_id, pending)
    changes: Counter[Slot] = Counter()
    for worklog, sign in ((before, -1), (after, 1)):
        if worklog is None or worklog["deleted"]:
            continue
        where = slot(worklog["started"], worklog["author"], issue, tzs)
        if where is not None:
            changes[where] += sign * int(worklog["seconds"])
    _add(conn, issue_id, issue, changes, pending)


def issue_changed(
    conn: Connection,
    tzs: Mapping[str, ZoneInfo],
    issue_id: str,
    before: IssueFacts | None,
    after: IssueFacts | None,
    pending: Pending | None = None,
) -> None:
    """An issue's worklogs now count under `after` instead of `before`."""
    changes: Counter[Slot] = Counter()
    if before != after:
        w = schema.worklogs.c
        logged = conn.execute(
            select(w.started, w.author, w.seconds).where(
                w.issue_id == issue_id, w.deleted == false()
            )
        ).all()
        for started, author, seconds in logged:
            for facts, sign in ((before, -1), (after, 1)):
                where = slot(started, author, facts, tzs)
                if where is not None:
                    changes[where] += sign * int(seconds)
    _add(conn, issue_id, after, changes, pending)


# --- reading -----------------------------------------------------------------------------------


def built_zone(conn: Connection, project_key: str) -> str | None:
    """The zone the project's roll-up was built in; None when it has none."""
    r = schema.worklog_rollups.c
    found = conn.execute(select(r.tz).where(r.project_key == project_key)).scalar()
    return None if found is None else str(found)


def days_query(project_key: str, before: datetime) -> Select[Any]:
    """Seconds per (day, author, components) before `before`."""
    d = schema.worklog_days.c
    return select(d.day, d.author, d.components, d.seconds).where(
        d.project_key == project_key, d.day < before, d.seconds != 0
    )


# --- building from the worklogs -----------------------------------------------------------------

CHUNK_DAYS = 7  # days rebuilt per transaction: SQLite's one writer waits for a week at most


def ensure_built(
    engine: Engine, mapping: ProjectMapping, *, now: Clock = system_clock
) -> list[str]:
    """Build the roll-up of every mapped project that has none, or one in another zone."""
    built = []
    for project in mapping.projects:
        with reader(engine) as conn:
            if built_zone(conn, project.key) == project.digest.tz:
                continue
        rebuild(engine, project.key, project.digest.tz, now=now)
        built.append(project.key)
    return built


def rebuild(engine: Engine, project_key: str, tz: str, *, now: Clock = system_clock) -> int:
    """Recompute one project's roll-up from its worklogs; returns the rows written.

    The digest stops trusting the roll-up first, and trusts it again after the last day. Days
    are replaced a week per transaction, from the worklogs as they are at that moment; a change
    committed after its week was replaced adds its difference as usual. So workers go on
    meanwhile, and intake on SQLite waits for one week's sums at most, not a whole rebuild.
    """
    r = schema.worklog_rollups
    with engine.begin() as conn:
        conn.execute(delete(r).where(r.c.project_key == project_key))
    zone, written, after = ZoneInfo(tz), 0, None
    while True:
        with engine.begin() as conn:
            bounds = _next_week(conn, after, zone)
            if bounds is None:
                break
            written += _replace_days(conn, project_key, after, bounds)
        after = bounds[-1]
    with engine.begin() as conn:
        row = {"project_key": project_key, "tz": tz, "built_at": now()}
        upsert(conn, r, row, key=["project_key"])
    log.info("worklog roll-up of %s built in %s: %s rows", project_key, tz, written)
    return written


def _next_week(conn: Connection, after: datetime | None, zone: ZoneInfo) -> list[datetime] | None:
    """Local midnights from the day of the first worklog at or after `after`, a week on.

    The first worklog is looked up rather than stepped to, so that a stray worklog dated decades
    back costs one step, not thousands. On PostgreSQL the days are locked against writers first:
    a worker that already added to them has committed (its worklogs are read here), and one that
    has not waits until this week is done (and adds its difference to the sums made here).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE worklog_days IN SHARE ROW EXCLUSIVE MODE"))
    w = schema.worklogs.c
    query = select(func.min(w.started))
    first = conn.execute(query.where(w.started >= after) if after else query).scalar()
    if first is None:
        return None
    day = first.astimezone(zone).date()
    return [midnight_of(day + timedelta(days=n), zone) for n in range(CHUNK_DAYS + 1)]


def _replace_days(
    conn: Connection, project_key: str, after: datetime | None, bounds: Sequence[datetime]
) -> int:
    """Replace the project's days in [after, bounds[-1]) by the worklogs' sums.

    No worklog starts in [after, bounds[0]); days of the zone the roll-up was built in before
    may, so the range replaced starts where the last one ended.
    """
    d = schema.worklog_days
    in_range = (d.c.project_key == project_key) & (d.c.day < bounds[-1])
    if after is not None:
        in_range &= d.c.day >= after
    conn.execute(delete(d).where(in_range))
    rows = conn.execute(_sums_query(project_key, bounds)).all()
    if rows:
        conn.execute(
            insert(d),
            [
                {
                    "project_key": project_key,
                    "day": bounds[int(b)],
                    "author": author or "",
                    "components": components_key(components),
                    "seconds": int(seconds),
                }
                for b, author, components, seconds in rows
            ],
        )
    return len(rows)


def _sums_query(project_key: str, bounds: Sequence[datetime]) -> Select[Any]:
    """Seconds per (day index, author, components) for worklogs in [bounds[0], bounds[-1])."""
    w, i = schema.worklogs.c, schema.issues.c
    bucket = bucket_index(w.started, bounds[:-1]).label("bucket")
    components = cast(i.components, Text).label("components")
    return (
        select(bucket, w.author, components, func.sum(w.seconds).label("seconds"))
        .join_from(schema.worklogs, schema.issues, i.id == w.issue_id)
        .where(
            i.project_key == project_key,
            i.deleted == false(),
            w.deleted == false(),
            w.started >= bounds[0],
            w.started < bounds[-1],
        )
        .group_by(bucket, w.author, components)
    )


def bucket_index(started: ColumnElement[Any], bounds: Sequence[datetime]) -> ColumnElement[Any]:
    """The index of the last boundary at or before `started`, as nested CASEs.

    A balanced tree needs log2(len(bounds)) comparisons a row, and plain CASE and `<` mean the
    same on SQLite and PostgreSQL; date arithmetic would not, nor would local days across DST.
    """

    def node(lo: int, hi: int) -> ColumnElement[Any]:
        # bounds[lo] <= started < bounds[hi] (or no upper bound when hi == len(bounds))
        if hi - lo == 1:
            return literal(lo)
        mid = (lo + hi) // 2
        return case((started < bounds[mid], node(lo, mid)), else_=node(mid, hi))

    return node(0, len(bounds))
