"""Built digests, reused by the cockpit's pages while nothing a digest reads has changed.

`/` shows every project's digest figures and `/projects/KEY` its charts; building a digest takes
about a second per project on a big mirror, and a PM reloads these pages often. A digest is a
function of its project, its week, its as-of moment and the data, so it is kept under exactly
that key (`DigestKey`): the data's part is `store_state`, a handful of cheap aggregate reads that
change whenever the worker applies an event, a sweep catches up, a change is decided, re-priced
or written back, a raise, a baseline, feedback or a mode change is recorded. A new event changes
the key, so the next load builds again; the entry it replaces ages out of the bounded LRU.

Only pages read from here. Sending (and the digest preview page, whose decision links must be
signed now) always builds afresh.

One cache per app, in process memory: each web process (gunicorn worker) keeps its own and
builds each digest once for itself; they never disagree about the data, since the key holds it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import current_app, g
from sqlalchemy import Connection, func, select

from mappings.model import Project
from service.runtime import Runtime
from service.store import schema
from service.store.engine import reader

EXTENSION = "scopewatch.digests"  # the app's `DigestCache`, in `app.extensions`
DEFAULT_SIZE = 64  # entries: a few weeks of every project of an agency, a few MB at most


@dataclass(frozen=True)
class DigestKey:
    project_key: str
    week: str
    as_of: datetime  # the moment the digest is as of: the week's end, or now for a running week
    state: tuple[Any, ...]  # `store_state`


@dataclass(frozen=True)
class CacheStats:
    hits: int
    builds: int
    size: int


class DigestCache:
    """A bounded, thread-safe LRU of built digests (waitress serves from a thread pool)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[DigestKey, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._builds = 0

    def get(self, key: DigestKey, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The digest under `key`, built (outside the lock) when absent. Callers must not change
        what they get: the next page gets the same dict."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                return found
        built = build()  # two threads missing at once both build; the second simply wins
        with self._lock:
            self._builds += 1
            self._entries[key] = built
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return built

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._builds, len(self._entries))


def digest_key(project: Project, week: str, now: datetime, state: tuple[Any, ...]) -> DigestKey:
    """The key of `project`'s digest of `week` built at `now`: a finished week is as of its end
    however late it is looked at, so its entry lasts until the data changes."""
    from reports.period import period_for

    period = replace(period_for(week, project.digest.tz), now=now)  # as `reports.digest` has it
    return DigestKey(project.key, week, period.as_of_utc, state)


def store_state(conn: Connection) -> tuple[Any, ...]:
    """What a digest reads, in one cheap query: changes whenever any of it is written."""
    inbox, sc, kv = schema.inbox.c, schema.scope_changes.c, schema.kv.c
    done = inbox.status == "done"
    parts = (
        select(func.count()).select_from(schema.inbox).where(done),  # events applied by the worker
        select(func.max(inbox.id)).where(done),
        select(func.max(kv.value)).where(kv.key.like("reconcile.%")),  # sweeps
        select(func.count(sc.id)),
        select(func.sum(sc.impact_version)),  # decided, re-priced, flagged
        select(func.sum(sc.written_version)),  # written back
        *(
            select(func.max(table.c.id))
            for table in (
                schema.scope_decisions,  # every decision, a note alone included
                schema.scope_growth,
                schema.baselines,
                schema.feedback,
                schema.project_mode_changes,
            )
        ),
    )
    row = conn.execute(select(*(part.scalar_subquery() for part in parts))).one()
    return tuple(row)


def page_digest(rt: Runtime, project: Project) -> dict[str, Any]:
    """The project's digest of its last full week, for a cockpit page: from this app's cache
    when nothing changed since it was built, else built now (and kept)."""
    from service.digest.build import build_digest, report_week

    now = rt.clock()
    week = report_week(project, None, now)
    state = _request_state(rt)
    cache: DigestCache = current_app.extensions.setdefault(EXTENSION, DigestCache())
    key = digest_key(project, week, now, state)
    return cache.get(key, lambda: build_digest(rt, project.key, week, now))


def _request_state(rt: Runtime) -> tuple[Any, ...]:
    """`store_state`, read once per request: `/` asks it for every project, and one page is
    built from one moment's data anyway."""
    state: tuple[Any, ...] | None = g.get("scopewatch_store_state")
    if state is None:
        with reader(rt.engine) as conn:
            state = store_state(conn)
        g.scopewatch_store_state = state
    return state
