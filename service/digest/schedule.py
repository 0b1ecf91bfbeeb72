"""The clock-driven jobs of `scopewatch run`: each project's weekly digest and the hourly reconcile.

Firing twice is harmless by construction: a digest is claimed in the database before it is sent,
and a reconcile only refreshes the mirror. The reconcile goes first, so the first tick of a new
installation fills the mirror before any digest is considered. A project's outcome is logged when
it changes, not on every tick; after an error its digest is left alone for a while.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from service.runtime import Runtime

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        rt: Runtime,
        *,
        tick_seconds: float = 60.0,
        reconcile_every: timedelta = timedelta(hours=1),
        rest_after_error: timedelta = timedelta(minutes=15),
    ) -> None:
        self.rest_after_error = rest_after_error
        self.rt = rt
        self.tick_seconds = tick_seconds
        self.reconcile_every = reconcile_every
        self.last_reconcile: datetime | None = None
        self.last_outcome: dict[str, str] = {}
        self.resting_until: dict[str, datetime] = {}

    def tick(self, now: datetime | None = None) -> None:
        now = now or self.rt.clock()
        if self.rt.jira is not None and (
            self.last_reconcile is None or now - self.last_reconcile >= self.reconcile_every
        ):
            self.reconcile_all(now)
            self.last_reconcile = now
        self.send_due_digests(now)

    def send_due_digests(self, now: datetime) -> None:
        from service.digest.send import send_digests

        if self.rt.mailer is None:
            return
        from service.digest.send import failed

        keys = [
            p.key
            for p in self.rt.mapping.projects
            if self.resting_until.get(p.key) is None or now >= self.resting_until[p.key]
        ]
        try:
            outcomes = send_digests(self.rt, keys, due_only=True, now=now)
        except Exception:  # a broken digest must not stop the scheduler
            log.exception("digest scheduling failed")
            return
        for key, outcome in outcomes.items():
            if failed(outcome):
                self.resting_until[key] = now + self.rest_after_error
            if self.last_outcome.get(key) != outcome:
                self.last_outcome[key] = outcome
                level = logging.WARNING if failed(outcome) else logging.INFO
                log.log(level, "digest %s: %s", key, outcome, extra={"project": key})

    def reconcile_all(self, now: datetime) -> None:
        from service.mirror.reconcile import reconcile

        if self.rt.jira is None:
            return
        for project in self.rt.mapping.projects:
            try:
                reconcile(
                    self.rt.engine, self.rt.jira, self.rt.mapping, project.key, since=None, now=now
                )
            except Exception:
                log.exception("reconcile of %s failed", project.key, extra={"project": project.key})

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.tick()
            stop.wait(self.tick_seconds)
